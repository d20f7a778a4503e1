//! What `main` hands over to: runs the chosen command and turns failures into a message and
//! an exit code.

use std::process::ExitCode;

use crate::config::{Command, Config, ExportArgs, ExportFormat, KeysCommand, SeedMode, ServeArgs};
use crate::db;
use crate::service::seed::{self, Mode};
use crate::state::AppState;

/// Runs the command the configuration names (serving by default).
pub async fn run(config: Config) -> ExitCode {
    match run_inner(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("iuc-graph: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_inner(config: Config) -> Result<(), String> {
    let command = config
        .command
        .clone()
        .unwrap_or_else(|| Command::Serve(Box::new(config.serve.clone())));
    if let Command::PrintSchema = command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let (conn, statements) = db::connect_with(&config.database_url, pool_options(&config))
        .await
        .map_err(|e| e.to_string())?;
    db::migrate(&conn).await.map_err(|e| e.to_string())?;
    tracing::info!(database = %db::redact(&config.database_url), "database migrated");
    match command {
        Command::PrintSchema => Ok(()),
        Command::Migrate => Ok(()),
        Command::Seed { file, dry_run } => seed(&conn, file.as_deref(), dry_run).await,
        Command::Generate { pairings, seed } => generate(&conn, pairings, seed).await,
        Command::Export(args) => export(&conn, args).await,
        Command::Import { file, dry_run } => import(&conn, &file, dry_run).await,
        Command::Keys(command) => keys(&conn, command).await,
        Command::Serve(args) => serve(conn, statements, *args).await,
    }
}

fn pool_options(config: &Config) -> db::PoolOptions {
    db::PoolOptions {
        max_connections: config
            .db_max_connections
            .unwrap_or_else(|| db::default_pool_size(&config.database_url)),
        acquire_timeout: std::time::Duration::from_millis(config.db_acquire_timeout.max(1)),
        statement_timeout: std::time::Duration::from_millis(config.db_statement_timeout),
    }
}

fn mode(dry_run: bool) -> Mode {
    if dry_run { Mode::DryRun } else { Mode::Apply }
}

/// What a load did, for its closing line.
fn loaded(dry_run: bool) -> &'static str {
    if dry_run {
        "would change (dry run, nothing written)"
    } else {
        "loaded"
    }
}

/// `iuc-graph seed`: the seed file built in, or the one given.
async fn seed(
    conn: &sea_orm::DatabaseConnection,
    file: Option<&std::path::Path>,
    dry_run: bool,
) -> Result<(), String> {
    let changes = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            seed::load_text(conn, &path.display().to_string(), &text, mode(dry_run)).await
        }
        None => seed::load_text(conn, seed::SEED_FILE_NAME, seed::SEED_JSON, mode(dry_run)).await,
    }
    .map_err(|e| e.to_string())?;
    println!("seed {}: {changes}", loaded(dry_run));
    Ok(())
}

async fn generate(
    conn: &sea_orm::DatabaseConnection,
    pairings: u64,
    seed: u64,
) -> Result<(), String> {
    use crate::service::generate::{Options, generate};
    let started = std::time::Instant::now();
    let report = generate(conn, Options { pairings, seed })
        .await
        .map_err(|e| format!("generating failed (nothing was written): {e}"))?;
    println!(
        "generated in {:.1} s: {report}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `iuc-graph export`: the file goes to `--out` (written whole, then renamed into place) or to
/// standard output; what was exported goes to standard error.
async fn export(conn: &sea_orm::DatabaseConnection, args: ExportArgs) -> Result<(), String> {
    let filter = crate::service::export::ExportFilter {
        pairings: filter_values(args.pairings, false),
        themes: filter_values(args.themes, false),
        countries: filter_values(args.countries, true),
        programme_regions: filter_values(args.programme_regions, false),
    };
    filter.check()?;
    let started = std::time::Instant::now();
    let (text, what) = export_text(conn, args.format, &filter).await?;
    let destination = write_out(args.out.as_deref(), &text)?;
    eprintln!(
        "iuc-graph: exported {what}, {} bytes, in {:.2} s to {destination}",
        text.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The exported text, and what it holds in a few words.
async fn export_text(
    conn: &sea_orm::DatabaseConnection,
    format: ExportFormat,
    filter: &crate::service::export::ExportFilter,
) -> Result<(String, String), String> {
    use crate::service::export;
    match format {
        ExportFormat::Json => {
            let data = export::export(conn, filter)
                .await
                .map_err(|e| e.to_string())?;
            if let Err(errors) = export::check_self_contained("export", &data) {
                eprintln!(
                    "iuc-graph: warning: the exported file will not import on its own:\n{errors}"
                );
            }
            let what = format!(
                "{} pairings, {} cities, {} regions, {} countries, {} stakeholders, {} activities",
                data.pairings.len(),
                data.cities.len(),
                data.regions.len(),
                data.countries.len(),
                data.stakeholders.len(),
                data.activities.len()
            );
            Ok((export::to_json(&data), what))
        }
        ExportFormat::Csv => {
            let data = export::pairings_table(conn, filter)
                .await
                .map_err(|e| e.to_string())?;
            let what = format!("{} pairings (CSV)", data.pairings.len());
            Ok((export::csv_of(&data), what))
        }
    }
}

/// Writes `text` to the file (whole, then renamed into place) or to standard output; where it
/// went.
fn write_out(out: Option<&std::path::Path>, text: &str) -> Result<String, String> {
    match out {
        Some(path) => {
            let partial = path.with_extension(format!("partial-{}", std::process::id()));
            std::fs::write(&partial, text)
                .and_then(|()| std::fs::rename(&partial, path))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&partial);
                    format!("cannot write {}: {e}", path.display())
                })?;
            Ok(path.display().to_string())
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write to standard output: {e}"))?;
            Ok("standard output".to_owned())
        }
    }
}

/// Filter values as given: trimmed, empty ones dropped, country codes in capitals.
fn filter_values(values: Vec<String>, upper: bool) -> Vec<String> {
    values
        .into_iter()
        .map(|v| {
            let v = v.trim();
            if upper {
                v.to_ascii_uppercase()
            } else {
                v.to_owned()
            }
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// `iuc-graph import`: the seed loader (`service::seed`) on a file, or standard input for `-`.
async fn import(
    conn: &sea_orm::DatabaseConnection,
    file: &std::path::Path,
    dry_run: bool,
) -> Result<(), String> {
    let (name, text) = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        ("<stdin>".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        (file.display().to_string(), text)
    };
    let actor = crate::service::write::Actor::command_line(format!("cli import {name}"));
    let changes = seed::import_text(conn, &name, &text, mode(dry_run), actor)
        .await
        .map_err(|e| e.to_string())?;
    println!("import {}: {changes}", loaded(dry_run));
    Ok(())
}

async fn keys(conn: &sea_orm::DatabaseConnection, command: KeysCommand) -> Result<(), String> {
    use crate::service::keys;
    let message = |e: crate::error::AppError| e.message().to_owned();
    match command {
        KeysCommand::Create {
            name,
            admin,
            city,
            region,
            stakeholder,
        } => {
            use crate::auth::Role;
            let organisation = organisation(conn, city, region, stakeholder).await?;
            if organisation.is_none() && !admin {
                return Err(
                    "say whom the key is for: --admin, or --city/--region/--stakeholder SLUG"
                        .into(),
                );
            }
            let role = if admin { Role::Admin } else { Role::Partner };
            let created = keys::create(conn, &name, role, organisation, None)
                .await
                .map_err(message)?;
            eprintln!(
                "created {} key #{} {:?}; its secret is shown this once, store it now:",
                role.as_str(),
                created.key.id,
                created.key.name
            );
            println!("{}", created.secret);
            Ok(())
        }
        KeysCommand::List => {
            for key in keys::list(conn).await.map_err(message)? {
                println!("{}", key_line(&key));
            }
            Ok(())
        }
        KeysCommand::Revoke { id } => {
            let key = keys::revoke(conn, id).await.map_err(message)?;
            println!("revoked key #{} {:?}", key.id, key.name);
            Ok(())
        }
    }
}

/// The organisation a partner key is for, by the slug given (the first of city, region,
/// stakeholder); `None` when none is given.
async fn organisation(
    conn: &sea_orm::DatabaseConnection,
    city: Option<String>,
    region: Option<String>,
    stakeholder: Option<String>,
) -> Result<Option<crate::auth::Organisation>, String> {
    use crate::auth::Organisation;
    use crate::service::catalog;
    Ok(Some(if let Some(slug) = city {
        let city = found(catalog::city_by_slug(conn, &slug).await, "city", &slug)?;
        Organisation::City(city.id)
    } else if let Some(slug) = region {
        let region = found(catalog::region_by_slug(conn, &slug).await, "region", &slug)?;
        Organisation::Region(region.id)
    } else if let Some(slug) = stakeholder {
        let stakeholder = found(
            catalog::stakeholder_by_slug(conn, &slug).await,
            "stakeholder",
            &slug,
        )?;
        Organisation::Stakeholder(stakeholder.id)
    } else {
        return Ok(None);
    }))
}

/// A lookup by slug's row, or the message that says what failed.
fn found<M>(
    lookup: Result<Option<M>, sea_orm::DbErr>,
    what: &str,
    slug: &str,
) -> Result<M, String> {
    lookup
        .map_err(|e| format!("cannot read the database: {e}"))?
        .ok_or_else(|| format!("no {what} with slug {slug:?}"))
}

/// A key in `keys list`: number, name, token prefix, role, organisation, state (tab-separated).
fn key_line(key: &entity::api_key::Model) -> String {
    let owner = crate::auth::principal(key)
        .organisation
        .map(|o| o.global_id())
        .unwrap_or_else(|| "-".into());
    let state = match key.revoked_at {
        Some(at) => format!("revoked {}", at.to_rfc3339()),
        None => "active".into(),
    };
    format!(
        "{}\t{}\t{}…\t{}\t{}\t{}",
        key.id, key.name, key.token_prefix, key.role, owner, state
    )
}

async fn serve(
    conn: sea_orm::DatabaseConnection,
    statements: db::StatementCounter,
    args: ServeArgs,
) -> Result<(), String> {
    let seed_now = match args.seed {
        SeedMode::Never => false,
        SeedMode::Always => true,
        SeedMode::Auto => seed::is_empty(&conn)
            .await
            .map_err(|e| format!("cannot read the database: {e}"))?,
    };
    if seed_now {
        let changes = seed::load_seed(&conn).await.map_err(|e| e.to_string())?;
        tracing::info!(%changes, "seed dataset loaded");
    }
    let settings = crate::state::Settings::from_args(&args)?;
    let listener = crate::server::bind(args.addr)
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::with_settings(conn, statements, settings);
    tracing::info!("iuc-graph listening on http://{addr}/graphql");
    if args.graphiql {
        eprintln!("iuc-graph: GraphiQL at http://{addr}/graphql (open it in a browser)");
    } else {
        eprintln!("iuc-graph: GraphQL at http://{addr}/graphql");
    }
    crate::server::serve(listener, state)
        .await
        .map_err(|e| format!("server error: {e}"))
}
