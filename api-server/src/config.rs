//! Configuration from the environment (and CLI flags).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`MPT_BIND`, default `127.0.0.1:8787`; port 0 picks one).
    pub bind: SocketAddr,
    /// Data directory for SQLite and the demo master key (`MPT_DATA_DIR`, default `.data`).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`; when absent, SQLite at `<data_dir>/mpt.db`.
    pub database_url: Option<String>,
    /// Master key source: `MPT_MASTER_KEY` (base64 of 32 bytes).
    pub master_key_b64: Option<String>,
    /// Master key source: `MPT_MASTER_KEY_FILE` (file holding the base64 key).
    pub master_key_file: Option<PathBuf>,
    /// Public base URL Twilio uses to reach us (`MPT_PUBLIC_URL`); default: the bound address.
    pub public_url: Option<String>,
    /// Seed and run the demo tenant (sandbox mode).
    pub demo: bool,
    /// Sign-in attempts allowed per minute per client address and email (`MPT_LOGIN_RATE_PER_MIN`, default 10).
    pub login_rate_per_min: u32,
    /// Twilio token mints allowed per minute per agent (`MPT_TOKEN_RATE_PER_MIN`, default 60).
    pub token_rate_per_min: u32,
    /// Outbound calls allowed per minute per agent (`MPT_DIAL_RATE_PER_MIN`, default 20): a
    /// stolen session or a runaway client cannot run up a toll bill.
    pub dial_rate_per_min: u32,
    /// Seconds to wait for open sockets to finish on shutdown (`MPT_SHUTDOWN_GRACE_SECS`, default 10).
    pub shutdown_grace_secs: u64,
    /// Speed factor for the sandbox stand-in's timing (`MPT_SANDBOX_SPEED`, default 1.0 = realistic).
    pub sandbox_speed: f64,
    /// Live events are kept this many hours for resuming clients, then pruned
    /// (`MPT_EVENTS_RETENTION_HOURS`, default 168 = 7 days; 0 keeps them forever).
    pub events_retention_hours: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`MPT_TRUSTED_PROXIES`,
    /// comma-separated addresses or CIDRs; default none: the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bearer token `/metrics` requires (`MPT_METRICS_TOKEN`); without one, `/metrics`
    /// answers only clients on loopback.
    pub metrics_token: Option<String>,
    /// A sign-in session (refresh family) ends this many days after the sign-in however
    /// often it is refreshed (`MPT_SESSION_MAX_DAYS`, default 30).
    pub session_max_days: u64,
    /// Lifetime of access tokens in seconds (`MPT_ACCESS_TTL_SECS`, default 900, 20–3600):
    /// shorter in end-to-end tests, so the clients' renewals run within a test's time.
    pub access_ttl_secs: u64,
    /// How long an inbound call rings the agents before the caller gets voicemail: the
    /// `<Dial timeout>` (`MPT_RING_SECS`, 5–600 s as Twilio takes it, default 20). Sandbox
    /// seconds run at `sandbox_speed`.
    pub ring_secs: u32,
    /// Stripe and Twilio REST settings (billing and provisioning, `docs/billing.md`).
    pub billing: BillingConfig,
    /// The embeddable widget's built files, served under `/phone/v1/` (`MPT_WIDGET_DIR`,
    /// `cargo xtask build` writes `dist/widget`); without it those paths answer 404.
    pub widget_dir: Option<PathBuf>,
    /// The standalone web app's built files, served at `/` and under `/app/v1/`
    /// (`MPT_APP_DIR`, `cargo xtask build` writes `dist/app`); without it `/` says the app
    /// is not built.
    pub app_dir: Option<PathBuf>,
}

/// Stripe billing and Twilio provisioning settings.
#[derive(Clone)]
pub struct BillingConfig {
    /// Signing secret of our Stripe webhook endpoint (`MPT_STRIPE_WEBHOOK_SECRET`, `whsec_…`);
    /// without it `/stripe/webhook` refuses every event.
    pub stripe_webhook_secret: Option<String>,
    /// Stripe secret key for Checkout and portal sessions (`MPT_STRIPE_SECRET_KEY`).
    pub stripe_secret_key: Option<String>,
    /// The per-seat price (`MPT_STRIPE_SEAT_PRICE`, `price_…`): Checkout sells it, and its
    /// item's quantity is the seat count.
    pub stripe_seat_price: Option<String>,
    /// Stripe API base URL (`MPT_STRIPE_API_BASE`, default `https://api.stripe.com`).
    pub stripe_api_base: String,
    /// Days a `past_due` tenant keeps calling after a failed payment (`MPT_BILLING_GRACE_DAYS`, default 7).
    pub grace_days: u64,
    /// Twilio REST base URL (`MPT_TWILIO_API_BASE`, default `https://api.twilio.com`).
    pub twilio_api_base: String,
    /// Main Twilio account SID for provisioning subaccounts (`MPT_TWILIO_MAIN_ACCOUNT_SID`).
    pub twilio_main_account_sid: Option<String>,
    /// Main Twilio account auth token (`MPT_TWILIO_MAIN_AUTH_TOKEN`).
    pub twilio_main_auth_token: Option<String>,
}

impl std::fmt::Debug for BillingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets are never printed.
        f.debug_struct("BillingConfig")
            .field("stripe_webhook_secret", &self.stripe_webhook_secret.as_ref().map(|_| "…"))
            .field("stripe_secret_key", &self.stripe_secret_key.as_ref().map(|_| "…"))
            .field("stripe_seat_price", &self.stripe_seat_price)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("grace_days", &self.grace_days)
            .field("twilio_api_base", &self.twilio_api_base)
            .field("twilio_main_account_sid", &self.twilio_main_account_sid)
            .finish_non_exhaustive()
    }
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            stripe_webhook_secret: None,
            stripe_secret_key: None,
            stripe_seat_price: None,
            stripe_api_base: "https://api.stripe.com".into(),
            grace_days: 7,
            twilio_api_base: mpt_twilio::rest::DEFAULT_API_BASE.into(),
            twilio_main_account_sid: None,
            twilio_main_auth_token: None,
        }
    }
}

/// Seconds an inbound call rings the agents by default.
pub const RING_SECS: u64 = 20;

impl Config {
    /// Reads the configuration from environment variables.
    pub fn from_env() -> Result<Self, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let bind = var("MPT_BIND").unwrap_or_else(|| "127.0.0.1:8787".into()).parse().map_err(|e| format!("MPT_BIND: {e}"))?;
        let num =
            |k: &str, d: u64| -> Result<u64, String> { var(k).map(|v| v.parse::<u64>().map_err(|e| format!("{k}: {e}"))).unwrap_or(Ok(d)) };
        let sandbox_speed = match var("MPT_SANDBOX_SPEED") {
            Some(v) => v.parse::<f64>().map_err(|e| format!("MPT_SANDBOX_SPEED: {e}"))?,
            None => 1.0,
        };
        Ok(Config {
            bind,
            data_dir: var("MPT_DATA_DIR").unwrap_or_else(|| ".data".into()).into(),
            database_url: var("DATABASE_URL"),
            master_key_b64: var("MPT_MASTER_KEY"),
            master_key_file: var("MPT_MASTER_KEY_FILE").map(PathBuf::from),
            public_url: var("MPT_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            demo: false,
            login_rate_per_min: num("MPT_LOGIN_RATE_PER_MIN", 10)? as u32,
            token_rate_per_min: num("MPT_TOKEN_RATE_PER_MIN", 60)? as u32,
            dial_rate_per_min: num("MPT_DIAL_RATE_PER_MIN", 20)? as u32,
            shutdown_grace_secs: num("MPT_SHUTDOWN_GRACE_SECS", 10)?,
            sandbox_speed,
            events_retention_hours: num("MPT_EVENTS_RETENTION_HOURS", 168)?,
            trusted_proxies: crate::client_ip::parse_trusted(&var("MPT_TRUSTED_PROXIES").unwrap_or_default())?,
            metrics_token: var("MPT_METRICS_TOKEN"),
            session_max_days: num("MPT_SESSION_MAX_DAYS", 30)?.max(1),
            access_ttl_secs: num("MPT_ACCESS_TTL_SECS", crate::auth::ACCESS_TTL_SECS)?.clamp(20, 3600),
            ring_secs: match num("MPT_RING_SECS", RING_SECS)? {
                s @ 5..=600 => s as u32,
                s => return Err(format!("MPT_RING_SECS: {s} is outside 5–600 (seconds an inbound call rings the agents)")),
            },
            billing: BillingConfig {
                stripe_webhook_secret: var("MPT_STRIPE_WEBHOOK_SECRET"),
                stripe_secret_key: var("MPT_STRIPE_SECRET_KEY"),
                stripe_seat_price: var("MPT_STRIPE_SEAT_PRICE"),
                stripe_api_base: var("MPT_STRIPE_API_BASE")
                    .map(|u| u.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| "https://api.stripe.com".into()),
                grace_days: num("MPT_BILLING_GRACE_DAYS", 7)?,
                twilio_api_base: var("MPT_TWILIO_API_BASE")
                    .map(|u| u.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| mpt_twilio::rest::DEFAULT_API_BASE.into()),
                twilio_main_account_sid: var("MPT_TWILIO_MAIN_ACCOUNT_SID"),
                twilio_main_auth_token: var("MPT_TWILIO_MAIN_AUTH_TOKEN"),
            },
            widget_dir: var("MPT_WIDGET_DIR").map(PathBuf::from),
            app_dir: var("MPT_APP_DIR").map(PathBuf::from),
        })
    }

    /// A configuration for tests: everything in `data_dir`, random port, fast sandbox.
    pub fn for_tests(data_dir: PathBuf, database_url: Option<String>) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            database_url,
            master_key_b64: None,
            master_key_file: None,
            public_url: None,
            demo: true,
            login_rate_per_min: 10,
            token_rate_per_min: 60,
            // Tests place many calls for the one demo agent; the dial limit has its own test.
            dial_rate_per_min: 0,
            shutdown_grace_secs: 2,
            sandbox_speed: 20.0,
            events_retention_hours: 168,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            session_max_days: 30,
            access_ttl_secs: crate::auth::ACCESS_TTL_SECS,
            // 10 s of real time at the tests' sandbox speed: a loaded CI machine answers or
            // declines well within the ring (at 20 s it would be 1 s).
            ring_secs: 200,
            billing: BillingConfig::default(),
            widget_dir: None,
            app_dir: None,
        }
    }

    /// `serve --demo` runs a tenant with known passwords and a generated key: it serves
    /// only on loopback and only on its own SQLite file, never a shared database.
    pub fn check_demo(&self) -> Result<(), String> {
        if !self.bind.ip().is_loopback() {
            return Err(format!("--demo serves only on a loopback address (its passwords are public); MPT_BIND is {}", self.bind));
        }
        if self.database_url.is_some() {
            return Err("--demo uses its own SQLite file; unset DATABASE_URL".into());
        }
        Ok(())
    }

    /// The database URL to use.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("mpt.db").display()),
        }
    }
}
