//! The command line: `serve [--demo]`, `migrate`, `tenant create | provision | suspend |
//! resume`, `agent create`, `key rotate`.

use crate::agents::NewAgent;
use crate::auth::PasswordParams;
use crate::config::Config;
use crate::crypto::{generate_master_key, load_master_key, parse_master_key, write_private, Crypto};
use crate::db::Db;
use crate::error::AppError;
use crate::state::AppState;
use crate::tenant::NewTenant;
use clap::{Parser, Subcommand};
use mpt_core::api::Role;
use mpt_twilio::rest::AccountStatus;
use sqlx::Row;
use std::io::Write;
use std::path::PathBuf;

/// MPT Phone api-server.
#[derive(Debug, Parser)]
#[command(name = "mpt-api-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Serve the API (prints `{"event":"listening","url":…}` on stdout when ready).
    Serve {
        /// Seed and use the demo tenant (sandbox mode); generates a master key in the data dir if none is set.
        #[arg(long)]
        demo: bool,
        /// Shut down when standard input closes: a parent that dies by any signal (even
        /// SIGKILL) takes the server with it (`cargo xtask run` uses this).
        #[arg(long)]
        exit_with_stdin: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Tenants.
    Tenant {
        /// Action.
        #[command(subcommand)]
        cmd: TenantCmd,
    },
    /// Agents.
    Agent {
        /// Action.
        #[command(subcommand)]
        cmd: AgentCmd,
    },
    /// Master key.
    Key {
        /// Action.
        #[command(subcommand)]
        cmd: KeyCmd,
    },
}

/// Tenant actions.
#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        /// URL-safe short name.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Sandbox mode (no Twilio account; credentials are generated).
        #[arg(long)]
        sandbox: bool,
        /// Twilio account SID (AC…).
        #[arg(long, env = "MPT_TWILIO_ACCOUNT_SID")]
        account_sid: Option<String>,
        /// Twilio auth token.
        #[arg(long, env = "MPT_TWILIO_AUTH_TOKEN", hide_env_values = true)]
        auth_token: Option<String>,
        /// API key SID (SK…).
        #[arg(long, env = "MPT_TWILIO_API_KEY_SID")]
        api_key_sid: Option<String>,
        /// API key secret.
        #[arg(long, env = "MPT_TWILIO_API_KEY_SECRET", hide_env_values = true)]
        api_key_secret: Option<String>,
        /// TwiML App SID (AP…).
        #[arg(long, env = "MPT_TWILIO_TWIML_APP_SID")]
        twiml_app_sid: Option<String>,
        /// Caller-ID number (E.164); repeatable.
        #[arg(long = "caller-id")]
        caller_ids: Vec<String>,
        /// Allowed origin (`https://crm.example.com`, `http://127.0.0.1:*`, `chrome-extension://*`); repeatable.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Allowed destination country (ISO alpha-2); repeatable; none = any.
        #[arg(long = "country")]
        countries: Vec<String>,
    },
    /// Create a tenant with its own Twilio subaccount, API key, TwiML App and number,
    /// made with the main account's credentials (MPT_TWILIO_MAIN_ACCOUNT_SID /
    /// MPT_TWILIO_MAIN_AUTH_TOKEN; MPT_PUBLIC_URL is where the app sends calls).
    Provision {
        /// URL-safe short name.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Move this main-account number (PN…) into the subaccount instead of buying one.
        #[arg(long)]
        number_sid: Option<String>,
        /// Country to buy a local number in (ISO alpha-2).
        #[arg(long = "number-country", default_value = "US")]
        number_country: String,
        /// Area code to buy the number in.
        #[arg(long)]
        area_code: Option<String>,
        /// Allowed origin; repeatable.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Allowed destination country (ISO alpha-2); repeatable; none = any.
        #[arg(long = "country")]
        countries: Vec<String>,
    },
    /// Suspend the tenant's Twilio subaccount (Twilio refuses its calls).
    Suspend {
        /// Tenant slug.
        #[arg(long)]
        slug: String,
    },
    /// Reactivate the tenant's Twilio subaccount.
    Resume {
        /// Tenant slug.
        #[arg(long)]
        slug: String,
    },
}

/// Agent actions.
#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Create an agent.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Email.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Password (or env MPT_AGENT_PASSWORD).
        #[arg(long, env = "MPT_AGENT_PASSWORD", hide_env_values = true)]
        password: String,
        /// Admin role.
        #[arg(long)]
        admin: bool,
    },
}

/// Key actions.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Re-encrypt every secret under a new master key (and rebuild blind indexes).
    /// The new key is written to `--out` (mode 0600); point MPT_MASTER_KEY_FILE at it.
    Rotate {
        /// Where to write the new key.
        #[arg(long)]
        out: PathBuf,
    },
}

fn say(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn open_state(cfg: Config) -> Result<AppState, AppError> {
    // The public URL names our webhooks in what `tenant provision` creates at Twilio.
    let public_url = cfg.public_url.clone().unwrap_or_default();
    AppState::open(cfg, public_url, PasswordParams::default()).await
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MPT_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs a command.
pub async fn run(cli: Cli) -> Result<(), AppError> {
    init_logs();
    let mut cfg = Config::from_env().map_err(AppError::BadRequest)?;
    match cli.cmd {
        Cmd::Serve { demo, exit_with_stdin } => {
            cfg.demo = demo;
            if demo {
                cfg.check_demo().map_err(AppError::BadRequest)?;
            }
            let server = crate::serve(cfg).await?;
            if demo {
                crate::seed::seed_demo_widget_key(&server.state).await?;
                say(&serde_json::json!({
                    "event": "demo",
                    "tenant": crate::seed::DEMO_TENANT,
                    "sandbox": true,
                    "agent": { "email": crate::seed::DEMO_AGENT.0, "password": crate::seed::DEMO_AGENT.1 },
                    "admin": { "email": crate::seed::DEMO_ADMIN.0, "password": crate::seed::DEMO_ADMIN.1 },
                    "widget_key": crate::seed::DEMO_WIDGET_KEY,
                }));
            }
            let signal = shutdown_signal();
            say(&serde_json::json!({ "event": "listening", "url": server.url }));
            let stop = server.state.shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = signal => {}
                    _ = stdin_closed(), if exit_with_stdin => {}
                }
                tracing::info!("shutting down");
                let _ = stop.send(true);
            });
            server.wait().await;
            Ok(())
        }
        Cmd::Migrate => {
            let db = Db::connect(&cfg.database_url()).await.map_err(|e| AppError::Internal(format!("database: {e}")))?;
            let n = db.migrate().await.map_err(|e| AppError::Internal(format!("migrations: {e}")))?;
            say(&serde_json::json!({ "event": "migrated", "applied": n }));
            Ok(())
        }
        Cmd::Tenant {
            cmd:
                TenantCmd::Create {
                    slug,
                    name,
                    sandbox,
                    account_sid,
                    auth_token,
                    api_key_sid,
                    api_key_secret,
                    twiml_app_sid,
                    caller_ids,
                    origins,
                    countries,
                },
        } => {
            let state = open_state(cfg).await?;
            let gen = |p: &str| format!("{p}{}", crate::crypto::new_id(""));
            let need = |v: Option<String>, what: &str, p: &str| -> Result<String, AppError> {
                match v {
                    Some(v) => Ok(v),
                    None if sandbox => Ok(gen(p)),
                    None => Err(AppError::BadRequest(format!("--{what} is required (or use --sandbox)"))),
                }
            };
            let t = NewTenant {
                account_sid: need(account_sid, "account-sid", "AC")?,
                auth_token: need(auth_token, "auth-token", "")?,
                api_key_sid: need(api_key_sid, "api-key-sid", "SK")?,
                api_key_secret: need(api_key_secret, "api-key-secret", "")?,
                twiml_app_sid: need(twiml_app_sid, "twiml-app-sid", "AP")?,
                slug,
                name,
                sandbox,
                caller_ids,
                allowed_origins: origins,
                allowed_countries: countries,
                connectors: Vec::new(),
            };
            let id = crate::tenant::create(&state, &t).await?;
            say(&serde_json::json!({ "event": "tenant_created", "id": id, "slug": t.slug }));
            Ok(())
        }
        Cmd::Tenant { cmd: TenantCmd::Provision { slug, name, number_sid, number_country, area_code, origins, countries } } => {
            if cfg.public_url.is_none() {
                return Err(AppError::BadRequest(
                    "MPT_PUBLIC_URL is required: the TwiML App sends calls to <MPT_PUBLIC_URL>/twilio/voice".into(),
                ));
            }
            let state = open_state(cfg).await?;
            let t = NewTenant { slug, name, allowed_origins: origins, allowed_countries: countries, ..Default::default() };
            let n = crate::provision::NumberChoice { number_sid, country: Some(number_country), area_code };
            let (id, p) = crate::provision::provision_new(&state, t, &n).await?;
            say(&serde_json::json!({ "event": "tenant_provisioned", "id": id, "twilio": p }));
            Ok(())
        }
        Cmd::Tenant { cmd: TenantCmd::Suspend { slug } } => set_subaccount_status(cfg, &slug, AccountStatus::Suspended).await,
        Cmd::Tenant { cmd: TenantCmd::Resume { slug } } => set_subaccount_status(cfg, &slug, AccountStatus::Active).await,
        Cmd::Agent { cmd: AgentCmd::Create { tenant, email, name, password, admin } } => {
            let state = open_state(cfg).await?;
            let t = crate::tenant::by_slug(&state, &tenant).await?.ok_or_else(|| AppError::BadRequest(format!("no tenant {tenant:?}")))?;
            let role = if admin { Role::Admin } else { Role::Agent };
            let a = crate::agents::create(&state, &t.id, &NewAgent { email, name, password: Some(password), role, identity: None }).await?;
            say(&serde_json::json!({ "event": "agent_created", "id": a.id, "identity": a.identity }));
            Ok(())
        }
        Cmd::Key { cmd: KeyCmd::Rotate { out } } => {
            let old = load_master_key(cfg.master_key_b64.as_deref(), cfg.master_key_file.as_deref(), &cfg.data_dir, false)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let db = Db::connect(&cfg.database_url()).await.map_err(|e| AppError::Internal(format!("database: {e}")))?;
            db.migrate().await.map_err(|e| AppError::Internal(format!("migrations: {e}")))?;
            let new_b64 = generate_master_key();
            let new = parse_master_key(&new_b64).map_err(AppError::internal)?;
            let (old_c, new_c) = (Crypto::new(&old, &[]), Crypto::new(&new, &[]));
            let n = rotate(&db, &old_c, &new_c).await?;
            write_private(&out, &new_b64).map_err(|e| AppError::Internal(format!("writing {}: {e}", out.display())))?;
            say(&serde_json::json!({ "event": "key_rotated", "key_id": new_c.key_id(), "values": n, "key_file": out }));
            Ok(())
        }
    }
}

async fn set_subaccount_status(cfg: Config, slug: &str, status: AccountStatus) -> Result<(), AppError> {
    let state = open_state(cfg).await?;
    let t = crate::tenant::by_slug(&state, slug).await?.ok_or_else(|| AppError::BadRequest(format!("no tenant {slug:?}")))?;
    crate::provision::set_status(&state, &t.id, status, "admin").await?;
    say(&serde_json::json!({ "event": "tenant_status", "slug": slug, "twilio_status": status.as_str() }));
    Ok(())
}

/// Re-encrypts every sealed value (and blind index) from `old` to `new`, in one
/// transaction. Returns how many values were rewritten.
pub async fn rotate(db: &Db, old: &Crypto, new: &Crypto) -> Result<usize, AppError> {
    let mut tx = db.pool.begin().await?;
    let mut n = 0;
    let re = |ctx: &str, v: &str| -> Result<String, AppError> {
        Ok(new.seal(ctx, &old.open(ctx, v).map_err(|e| AppError::Internal(format!("{ctx}: {e}")))?))
    };
    for r in sqlx::query("SELECT id, auth_token_enc, api_key_secret_enc, connector_enc, sso_enc FROM tenants").fetch_all(&mut *tx).await? {
        let id: String = r.try_get("id")?;
        let c = |w: &str| format!("tenant:{id}:{w}");
        let opt = |col: &str, w: &str| -> Result<Option<String>, AppError> {
            match r.try_get::<Option<String>, _>(col)? {
                Some(v) => Ok(Some(re(&c(w), &v)?)),
                None => Ok(None),
            }
        };
        sqlx::query("UPDATE tenants SET auth_token_enc = $1, api_key_secret_enc = $2, connector_enc = $3, sso_enc = $4 WHERE id = $5")
            .bind(re(&c("auth_token"), &r.try_get::<String, _>("auth_token_enc")?)?)
            .bind(re(&c("api_key_secret"), &r.try_get::<String, _>("api_key_secret_enc")?)?)
            .bind(opt("connector_enc", "connector")?)
            .bind(opt("sso_enc", "sso")?)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        n += 1;
    }
    for r in sqlx::query("SELECT tenant_id, id, from_enc, to_enc, notes_enc FROM calls").fetch_all(&mut *tx).await? {
        let (tid, id): (String, String) = (r.try_get("tenant_id")?, r.try_get("id")?);
        let c = |w: &str| format!("call:{tid}:{id}:{w}");
        let from = old.open(&c("from"), &r.try_get::<String, _>("from_enc")?).map_err(AppError::internal)?;
        let to = old.open(&c("to"), &r.try_get::<String, _>("to_enc")?).map_err(AppError::internal)?;
        let notes = match r.try_get::<Option<String>, _>("notes_enc")? {
            Some(v) => Some(re(&c("notes"), &v)?),
            None => None,
        };
        sqlx::query(
            "UPDATE calls SET from_enc = $1, to_enc = $2, from_bidx = $3, to_bidx = $4, notes_enc = $5 WHERE tenant_id = $6 AND id = $7",
        )
        .bind(new.seal(&c("from"), &from))
        .bind(new.seal(&c("to"), &to))
        .bind(new.blind_index(&tid, &from))
        .bind(new.blind_index(&tid, &to))
        .bind(notes)
        .bind(&tid)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    for r in sqlx::query("SELECT tenant_id, id, phone_enc FROM contacts").fetch_all(&mut *tx).await? {
        let (tid, id): (String, String) = (r.try_get("tenant_id")?, r.try_get("id")?);
        let ctx = format!("contact:{tid}:{id}:phone");
        let phone = old.open(&ctx, &r.try_get::<String, _>("phone_enc")?).map_err(AppError::internal)?;
        sqlx::query("UPDATE contacts SET phone_enc = $1, phone_bidx = $2 WHERE tenant_id = $3 AND id = $4")
            .bind(new.seal(&ctx, &phone))
            .bind(new.blind_index(&tid, &phone))
            .bind(&tid)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// Resolves when standard input reaches its end (the parent closed it or died).
async fn stdin_closed() {
    use tokio::io::AsyncReadExt;
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future
/// is first polled: a signal sent as soon as the server says it is listening must drain it
/// (sockets closed with 1012), not kill it with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (int, term) = (signal(SignalKind::interrupt()).ok(), signal(SignalKind::terminate()).ok());
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(int) => {}, _ = wait(term) => {} }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
