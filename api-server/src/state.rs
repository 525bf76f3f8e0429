//! Shared application state.

use crate::auth::PasswordParams;
use crate::config::Config;
use crate::crypto::Crypto;
use crate::db::Db;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::tenant::TenantCache;
use std::sync::Arc;

/// Everything handlers need; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// Configuration.
    pub cfg: Config,
    /// Database.
    pub db: Db,
    /// Keys.
    pub crypto: Crypto,
    /// Live events.
    pub hub: Hub,
    /// Loaded tenants.
    pub tenants: TenantCache,
    /// Sign-in limiter.
    pub login_limit: RateLimiter,
    /// Token-mint limiter.
    pub token_limit: RateLimiter,
    /// Failed sign-ins per account (exponential backoff).
    pub account_throttle: crate::ratelimit::AccountThrottle,
    /// CSV exports per caller (a few a minute).
    pub export_limit: RateLimiter,
    /// Outbound calls per agent, counted where both dial paths meet (`/twilio/voice`).
    pub dial_limit: RateLimiter,
    /// Live-session checks and the end-of-session signal.
    pub sessions: crate::sessions::Sessions,
    /// Presence updates, merged and throttled per agent.
    pub presence: crate::presence::PresenceThrottle,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Public base URL (what Twilio calls), without trailing slash.
    pub public_url: String,
    /// Password hashing parameters for new hashes.
    pub password_params: PasswordParams,
    /// Where passwords are hashed: one thread per core (see `auth::with_password_slot`).
    pub password_pool: rayon::ThreadPool,
    /// CRM connector answer cache.
    pub contact_cache: crate::contacts::ContactCache,
    /// Sandbox stand-in driver.
    pub sandbox: crate::sandbox::Sandbox,
    /// The sandbox's Voice signalling edge (devices, ringing legs).
    pub signal: crate::sandbox_signal::Signal,
    /// Last written state of calls (SQLite status-callback fast path).
    pub call_cache: crate::calls::CallCache,
    /// SQLite: the group-commit writer of status callbacks.
    pub status_writer: crate::status_writer::StatusWriter,
    /// Per-tenant billing state behind [`crate::billing::entitlements::require_active`].
    pub entitlements: crate::billing::entitlements::EntitlementCache,
    /// Allowed CORS origins of all tenants.
    pub origins: crate::tenant::OriginCache,
    /// Publishable widget keys seen (hash → id and tenant).
    pub widget_keys: crate::widget_keys::KeyCache,
    /// The embeddable widget's built files (`/phone/v1/…`) and their SRI hashes.
    pub widget_assets: crate::widget_assets::WidgetAssets,
    /// The standalone app's built files (`/app/v1/`), read the same way.
    pub app_assets: crate::widget_assets::WidgetAssets,
    /// Set to true to shut down (sockets close, the server drains).
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A non-owning handle on the state (for background tasks that must not keep it alive).
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    /// The state, unless it has been dropped.
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

impl AppState {
    /// A handle that does not keep the state alive.
    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    /// Loads the master key, opens (and creates) the database and migrates it, then
    /// builds the state: what `serve` and every CLI command start from.
    pub async fn open(cfg: Config, public_url: String, password_params: PasswordParams) -> Result<AppState, crate::error::AppError> {
        use crate::error::AppError;
        let master = crate::crypto::load_master_key(cfg.master_key_b64.as_deref(), cfg.master_key_file.as_deref(), &cfg.data_dir, cfg.demo)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if cfg.database_url.is_none() {
            std::fs::create_dir_all(&cfg.data_dir).map_err(|e| AppError::Internal(format!("data dir: {e}")))?;
        }
        let db = Db::connect(&cfg.database_url()).await.map_err(|e| AppError::Internal(format!("database: {e}")))?;
        db.migrate().await.map_err(|e| AppError::Internal(format!("migrations: {e}")))?;
        Ok(AppState::new(cfg, db, Crypto::new(&master, &[]), public_url, password_params))
    }

    /// Builds the state.
    pub fn new(cfg: Config, db: Db, crypto: Crypto, public_url: String, password_params: PasswordParams) -> AppState {
        let hub = Hub::new(db.clone());
        let login_limit = RateLimiter::new(cfg.login_rate_per_min);
        let token_limit = RateLimiter::new(cfg.token_rate_per_min);
        let dial_rate_per_min = cfg.dial_rate_per_min;
        let sandbox = crate::sandbox::Sandbox::new(cfg.sandbox_speed);
        let widget_assets = crate::widget_assets::WidgetAssets::load(cfg.widget_dir.as_deref());
        let app_assets = crate::widget_assets::WidgetAssets::load(cfg.app_dir.as_deref());
        AppState(Arc::new(Inner {
            cfg,
            db,
            crypto,
            hub,
            tenants: TenantCache::default(),
            login_limit,
            token_limit,
            account_throttle: crate::ratelimit::AccountThrottle::new(5),
            export_limit: RateLimiter::new(6),
            dial_limit: RateLimiter::new(dial_rate_per_min),
            sessions: Default::default(),
            presence: Default::default(),
            metrics: Metrics::default(),
            public_url,
            password_params,
            password_pool: rayon::ThreadPoolBuilder::new()
                .num_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .thread_name(|i| format!("mpt-password-{i}"))
                .build()
                .expect("password thread pool"),
            contact_cache: Default::default(),
            sandbox,
            signal: Default::default(),
            call_cache: Default::default(),
            status_writer: Default::default(),
            entitlements: Default::default(),
            origins: Default::default(),
            widget_keys: Default::default(),
            widget_assets,
            app_assets,
            shutdown: tokio::sync::watch::channel(false).0,
        }))
    }
}

/// Resolves once shutdown is requested on `rx` (a receiver of [`Inner::shutdown`]).
pub async fn until_shutdown(mut rx: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}
