//! CSV export of call logs (RFC 4180, spreadsheet formulas neutralized).

use super::row::dir_str;
use mpt_core::api::CallLog;

/// Quotes one CSV field (RFC 4180), neutralizing spreadsheet formulas.
pub fn csv_field(s: &str) -> String {
    let risky = s.starts_with(['=', '@', '\t', '\r']) || (s.starts_with(['+', '-']) && !s[1..].bytes().all(|b| b.is_ascii_digit()));
    let s = if risky { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The header line of an export.
pub const CSV_HEADER: &str = "id,direction,agent_id,from,to,contact_id,contact_name,crm,call_sid,status,started_at,answered_at,ended_at,duration_seconds,recording_url,disposition,notes\n";

/// One call as a CSV line (with its newline).
pub fn csv_line(c: &CallLog) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let fields = [
        c.id.clone(),
        dir_str(c.direction).to_string(),
        o(&c.agent_id),
        c.from.clone(),
        c.to.clone(),
        o(&c.contact_id),
        o(&c.contact_name),
        o(&c.crm),
        o(&c.call_sid),
        c.status.clone(),
        c.started_at.to_string(),
        n(c.answered_at),
        n(c.ended_at),
        n(c.duration_seconds.map(|d| d as i64)),
        o(&c.recording_url),
        o(&c.disposition),
        o(&c.notes),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// Renders call logs as CSV (header + one line per call).
pub fn to_csv(calls: &[CallLog]) -> String {
    let mut out = String::from(CSV_HEADER);
    for c in calls {
        out.push_str(&csv_line(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escaping() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("+14155550100"), "+14155550100");
    }
}
