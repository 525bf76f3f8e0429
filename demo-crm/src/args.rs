//! Command-line arguments: `--mpt-port P --ams-port Q [--exit-with-stdin]`.

use crate::error::Error;

/// Usage text.
pub const USAGE: &str = "usage: mpt-demo-crm [--mpt-port P] [--ams-port Q] [--exit-with-stdin]\n\
  --mpt-port P       MPT-CRM port on 127.0.0.1 (default 8801, 0 = any free port)\n\
  --ams-port Q       AMS-APP-CRM port on 127.0.0.1 (default 8802, 0 = any free port)\n\
  --exit-with-stdin  exit when stdin closes (test harnesses: no orphan after a crash)\n\
Prints {\"event\":\"listening\",\"mpt_crm\":URL,\"ams_crm\":URL} on stdout once both listen.";

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// MPT-CRM port.
    pub mpt_port: u16,
    /// AMS-APP-CRM port.
    pub ams_port: u16,
    /// Exit when stdin reaches end of file.
    pub exit_with_stdin: bool,
}

impl Default for Args {
    fn default() -> Self {
        Self { mpt_port: 8801, ams_port: 8802, exit_with_stdin: false }
    }
}

fn port(flag: &str, value: Option<String>) -> Result<u16, Error> {
    let v = value.ok_or_else(|| Error::Usage(format!("{flag} needs a port number\n{USAGE}")))?;
    v.parse().map_err(|_| Error::Usage(format!("{flag}: {v:?} is not a port (0-65535)\n{USAGE}")))
}

/// Parses the arguments after the program name. `Ok(None)` means `--help`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, Error> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (a.clone(), None),
        };
        match flag.as_str() {
            "--mpt-port" => out.mpt_port = port(&flag, inline.or_else(|| it.next()))?,
            "--ams-port" => out.ams_port = port(&flag, inline.or_else(|| it.next()))?,
            "--exit-with-stdin" => out.exit_with_stdin = true,
            "-h" | "--help" => return Ok(None),
            _ => return Err(Error::Usage(format!("unknown argument {a:?}\n{USAGE}"))),
        }
    }
    if out.mpt_port != 0 && out.mpt_port == out.ams_port {
        return Err(Error::Usage(format!("--mpt-port and --ams-port must differ (both {})", out.mpt_port)));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Result<Option<Args>, Error> {
        parse(s.iter().map(|x| x.to_string()))
    }

    #[test]
    fn parses() {
        assert_eq!(p(&[]).ok().flatten(), Some(Args::default()));
        let a = p(&["--mpt-port", "0", "--ams-port=0", "--exit-with-stdin"]).ok().flatten();
        assert_eq!(a, Some(Args { mpt_port: 0, ams_port: 0, exit_with_stdin: true }));
        assert!(matches!(p(&["--help"]), Ok(None)));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p(&["--mpt-port"]).is_err());
        assert!(p(&["--mpt-port", "70000"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--mpt-port", "9000", "--ams-port", "9000"]).is_err());
    }
}
