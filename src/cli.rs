//! The command line: `serve` (default), `migrate`, `check-config`, `calcom-sim`,
//! `warm-availability`, `calcom doctor`, `outbox`, `admin create-user`.
//!
//! Exit codes: 0 success, 1 runtime failure (a critical task died, the store is unreachable),
//! 2 bad configuration or usage.

#[cfg(feature = "sim")]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{Settings, Sources};
use crate::startup::{Application, BuildOptions};
use crate::store::{Store, StoreOptions};

#[derive(Debug, Parser)]
#[command(name = "slotkeeper", version, about = "Booking backend for phone agents that cannot double-book")]
struct Cli {
    /// Base configuration file (default: config/default.toml if present, else the built-in copy).
    #[arg(long, global = true, env = "SLOTKEEPER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply pending database migrations, or revert the newest ones.
    Migrate {
        /// Revert this many migrations (their .down.sql) instead of applying.
        #[arg(long)]
        down: Option<usize>,
    },
    /// Validate the configuration and print what it configures.
    CheckConfig,
    /// Run the Cal.com simulator as its own process (event types from the configured catalogue).
    #[cfg(feature = "sim")]
    CalcomSim {
        #[arg(long, default_value = "127.0.0.1:8090")]
        addr: SocketAddr,
        /// Fixed latency added to every API answer, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Send Cal.com webhooks for every booking change to this URL (signed with the first
        /// tenant's webhook secret).
        #[arg(long)]
        webhook_url: Option<String>,
        /// An external web booker taking random free slots at this rate (per minute).
        #[arg(long, default_value_t = 0.0)]
        external_per_minute: f64,
        /// Requests per minute per API key before 429 (0 = no limit).
        #[arg(long, default_value_t = 120)]
        rate_limit: u32,
    },
    /// Check tenants against their Cal.com (`calcom doctor`).
    Calcom {
        #[command(subcommand)]
        command: CalcomCommand,
    },
    /// Load the next days of busy times from Cal.com into the store, and report.
    WarmAvailability {
        /// Only this tenant (company) id.
        #[arg(long)]
        company: Option<String>,
    },
    /// Send a signed Retell function call to a running service and print the answer (a quick
    /// way to talk to the service like the phone agent does).
    Call {
        /// Function name, e.g. check_availability, start_booking.
        function: String,
        /// Arguments as JSON, e.g. '{"service":"Dauerwelle","date":"morgen","time":"10 Uhr"}'.
        args: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The call id (default: a new one; pass the printed one again to continue the conversation).
        #[arg(long)]
        call_id: Option<String>,
        /// The number that was called (selects the salon).
        #[arg(long, default_value = "+4930123456789")]
        to: String,
        /// The caller's number.
        #[arg(long, default_value = "+4915112345678")]
        from: String,
    },
    /// Inspect or re-drive the Cal.com outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Manage accounts of the admin page (/admin).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CalcomCommand {
    /// Check each tenant (or one) against its Cal.com and print a table; exit 1 on any problem.
    Doctor {
        #[arg(long)]
        company: Option<String>,
    },
    /// Draft the tenant's staff, services and event-type mapping as TOML from its Cal.com.
    Import {
        #[arg(long)]
        company: String,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account. The password comes from $SLOTKEEPER_ADMIN_PASSWORD, else from stdin.
    CreateUser {
        #[arg(long)]
        username: String,
        /// operator: every tenant; tenant-admin: one tenant (--tenant).
        #[arg(long, value_enum)]
        role: crate::admin::users::RoleArg,
        /// The tenant id of a tenant admin.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// Pending, in-flight and dead-letter counts.
    Status,
    /// Put dead letters back in the queue (all, or one by id).
    Retry {
        #[arg(long)]
        id: Option<i64>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("slotkeeper: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}

fn load(config: Option<PathBuf>) -> Result<Settings, ExitCode> {
    let settings = Settings::load(&Sources::from_process(config)).map_err(|e| {
        eprintln!("slotkeeper: {e}");
        ExitCode::from(2)
    })?;
    crate::telemetry::init(&settings.log);
    Ok(settings)
}

async fn run(cli: Cli) -> ExitCode {
    let settings = match load(cli.config) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate { down } => migrate(settings, down).await,
        Command::CheckConfig => check_config(&settings),
        #[cfg(feature = "sim")]
        Command::CalcomSim { addr, latency_ms, webhook_url, external_per_minute, rate_limit } => {
            calcom_sim(&settings, addr, latency_ms, webhook_url, external_per_minute, rate_limit).await
        }
        Command::WarmAvailability { company } => warm(settings, company).await,
        Command::Calcom { command: CalcomCommand::Doctor { company } } => doctor(&settings, company).await,
        Command::Calcom { command: CalcomCommand::Import { company, out } } => import(&settings, &company, out).await,
        Command::Outbox { command } => outbox(settings, command).await,
        Command::Call { function, args, url, call_id, to, from } => {
            call(&settings, &function, &args, &url, call_id, &to, &from).await
        }
        Command::Admin { command: AdminCommand::CreateUser { username, role, tenant } } => {
            crate::admin::users::create_user_command(&settings, username, role, tenant)
                .await
                .map(|line| println!("{line}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("slotkeeper: {message}");
            ExitCode::from(code)
        }
    }
}

type CliResult = Result<(), (u8, String)>;

async fn serve(settings: Settings) -> CliResult {
    let app = Application::build(settings, BuildOptions::default()).await.map_err(|e| {
        let code = if matches!(e, crate::startup::StartupError::Config(_)) { 2 } else { 1 };
        (code, e.to_string())
    })?;
    app.run_until_stopped().await.map_err(|e| (1, e.to_string()))
}

async fn open_store(settings: &Settings) -> Result<Store, (u8, String)> {
    Store::connect(&StoreOptions {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        node_id: "cli".into(),
    })
    .await
    .map_err(|e| (1, e.to_string()))
}

async fn migrate(settings: Settings, down: Option<usize>) -> CliResult {
    let store = open_store(&settings).await?;
    match down {
        Some(steps) => {
            let reverted = store.migrate_down(steps).await.map_err(|e| (1, e.to_string()))?;
            println!("reverted migrations: {reverted:?}");
        }
        None => {
            store.migrate().await.map_err(|e| (1, e.to_string()))?;
            println!("applied migrations: {:?}", store.applied_migrations().await.map_err(|e| (1, e.to_string()))?);
        }
    }
    store.close().await;
    Ok(())
}

fn check_config(settings: &Settings) -> CliResult {
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    println!("configuration is valid");
    println!(
        "  listen: {}  metrics: {}",
        settings.http.addr,
        settings.metrics_addr().ok().flatten().map_or("on the listen address".into(), |a| a.to_string())
    );
    println!("  database: {}", crate::store::redact_url(&settings.database.url));
    println!(
        "  cal.com: {}",
        if settings.calcom.base_url.is_empty() { "built-in simulator" } else { settings.calcom.base_url.as_str() }
    );
    for tenant in catalogue.tenants() {
        let numbers: Vec<String> = tenant.phone_numbers.iter().map(ToString::to_string).collect();
        println!(
            "  tenant {} ({}), {}, numbers {:?}, agents {:?}",
            tenant.id, tenant.name, tenant.tz, numbers, tenant.agent_ids
        );
        for service in &tenant.services {
            let who: Vec<&str> = tenant.qualified_staff(&service.id).map(|s| s.name.as_str()).collect();
            println!(
                "    {:<20} {:>3} min{}  by {}",
                service.name,
                service.total_minutes(),
                if service.is_compound() { " (compound)" } else { "" },
                who.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(feature = "sim")]
async fn calcom_sim(
    settings: &Settings,
    addr: SocketAddr,
    latency_ms: u64,
    webhook_url: Option<String>,
    external_per_minute: f64,
    rate_limit: u32,
) -> CliResult {
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    let config =
        crate::simulator::standalone_sim_config(&catalogue, latency_ms, webhook_url, external_per_minute, rate_limit);
    println!("Cal.com simulator on http://{addr} ({} event types)", config.event_types.len());
    calcom_sim::serve(addr, config).await.map_err(|e| (1, format!("simulator: {e}")))
}

async fn doctor(settings: &Settings, company: Option<String>) -> CliResult {
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    let tenants: Vec<_> =
        catalogue.tenants().iter().filter(|t| company.as_deref().is_none_or(|c| t.id.as_str() == c)).cloned().collect();
    if tenants.is_empty() {
        return Err((2, format!("no tenant {}", company.unwrap_or_default())));
    }
    #[cfg(feature = "sim")]
    let sim = if settings.calcom.base_url.trim().is_empty() {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let config = crate::simulator::sim_config_for(&catalogue, &settings.simulator, settings.http.addr);
        Some(calcom_sim::CalcomSim::start(addr, config).await.map_err(|e| (1, format!("simulator: {e}")))?)
    } else {
        None
    };
    #[cfg(feature = "sim")]
    let base_url = sim.as_ref().map_or_else(|| settings.calcom.base_url.clone(), calcom_sim::SimHandle::base_url);
    #[cfg(not(feature = "sim"))]
    let base_url = settings.calcom.base_url.clone();
    let client = crate::calcom::CalcomClient::new(&crate::calcom::ClientConfig {
        base_url,
        connect_timeout: Duration::from_millis(settings.calcom.connect_timeout_ms),
        request_timeout: Duration::from_millis(settings.calcom.request_timeout_ms),
        ..crate::calcom::ClientConfig::default()
    })
    .map_err(|e| (2, e.to_string()))?;
    let mut problems = 0;
    for tenant in &tenants {
        let checks = crate::calcom::doctor::run(&client, tenant, settings.calcom.webhook_url.trim()).await;
        problems += checks.iter().filter(|c| !c.ok).count();
        println!("{}", crate::calcom::doctor::render(tenant.id.as_str(), &checks));
    }
    if problems == 0 { Ok(()) } else { Err((1, format!("{problems} problem(s) found"))) }
}

async fn import(settings: &Settings, company: &str, out: Option<PathBuf>) -> CliResult {
    settings.validate().map_err(|e| (2, e.to_string()))?;
    let base = settings.tenants.iter().find(|t| t.id == company).ok_or_else(|| (2, format!("no tenant {company}")))?;
    if settings.calcom.base_url.trim().is_empty() {
        return Err((2, "calcom.base_url is empty: import reads a real Cal.com (or `slotkeeper calcom-sim`)".into()));
    }
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    let tenant = catalogue.tenants().iter().find(|t| t.id.as_str() == company).cloned().ok_or((2, String::new()))?;
    let client = crate::calcom::CalcomClient::new(&crate::calcom::ClientConfig {
        base_url: settings.calcom.base_url.clone(),
        ..crate::calcom::ClientConfig::default()
    })
    .map_err(|e| (2, e.to_string()))?;
    let types = client.list_event_types(tenant.calcom.api_key.expose()).await.map_err(|e| (1, e.to_string()))?;
    let toml = crate::calcom::import::draft(base, &types);
    match out {
        Some(path) => std::fs::write(&path, toml).map_err(|e| (1, format!("{}: {e}", path.display())))?,
        None => print!("{toml}"),
    }
    Ok(())
}

async fn warm(settings: Settings, company: Option<String>) -> CliResult {
    let catalogue = settings.validate().map_err(|e| (2, e.to_string()))?;
    if settings.calcom.base_url.trim().is_empty() {
        return Err((
            2,
            "calcom.base_url is empty: set SLOTKEEPER__CALCOM__BASE_URL to a Cal.com (or `slotkeeper calcom-sim`)"
                .into(),
        ));
    }
    let store = open_store(&settings).await?;
    store.migrate().await.map_err(|e| (1, e.to_string()))?;
    let report = crate::calcom::sync::warm_store(&settings, &catalogue, &store, company.as_deref())
        .await
        .map_err(|e| (1, e.to_string()))?;
    println!("{report}");
    store.close().await;
    Ok(())
}

async fn outbox(settings: Settings, command: OutboxCommand) -> CliResult {
    let store = open_store(&settings).await?;
    let now = chrono::Utc::now();
    match command {
        OutboxCommand::Status => {
            let summary = store.outbox_summary().await.map_err(|e| (1, e.to_string()))?;
            println!("pending {}  in flight {}  dead letters {}", summary.pending, summary.in_flight, summary.dead);
            for job in store.dead_letters(None, 50).await.map_err(|e| (1, e.to_string()))? {
                println!(
                    "  dead #{} {} {} attempts={} error={}",
                    job.id,
                    job.kind,
                    job.appointment_id,
                    job.attempts,
                    job.last_error.unwrap_or_default()
                );
            }
        }
        OutboxCommand::Retry { id } => {
            let moved = store.redrive_jobs(id, None, now, now).await.map_err(|e| (1, e.to_string()))?;
            println!("{moved} job(s) queued again; a running service picks them up within its poll interval");
        }
    }
    store.close().await;
    Ok(())
}

async fn call(
    settings: &Settings,
    function: &str,
    args: &str,
    url: &str,
    call_id: Option<String>,
    to: &str,
    from: &str,
) -> CliResult {
    let args: serde_json::Value =
        serde_json::from_str(args).map_err(|e| (2, format!("arguments are not JSON: {e}")))?;
    let call_id = call_id.unwrap_or_else(|| format!("call_{}", uuid::Uuid::new_v4().simple()));
    let body = serde_json::json!({
        "name": function,
        "args": args,
        "call": {"call_id": call_id, "from_number": from, "to_number": to, "call_type": "phone_call", "direction": "inbound"},
    })
    .to_string();
    let signature = crate::http::signature::sign(
        body.as_bytes(),
        settings.retell.api_key.expose().as_bytes(),
        chrono::Utc::now().timestamp_millis(),
    );
    let client = crate::calcom::http_client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| (1, e.to_string()))?;
    let response = client
        .post(format!("{}/retell/functions", url.trim_end_matches('/')))
        .header("content-type", "application/json")
        .header("x-retell-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| (1, format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let pretty =
        serde_json::from_str::<serde_json::Value>(&text).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or(text);
    println!("call_id: {call_id}\nHTTP {status}\n{pretty}");
    if status.is_success() { Ok(()) } else { Err((1, format!("the service answered {status}"))) }
}
