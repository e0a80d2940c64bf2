//! Read-path figures for BENCHMARKS.md (issue 10): how fast Taskr serves its pages, and how
//! that changes with the size of the workspace. `cargo bench -p taskr --bench pages`
//! (`-- --sizes 48,5000` or `PAGES_SIZES`; `PAGES_SECS` seconds per URL, default 5;
//! `PAGES_WRK=/usr/bin/wrk` also runs wrk against the tasks page for comparison).
//!
//! For each workspace size (48 tasks, the sandbox's demo seed, and 5,000): an Attio sandbox
//! starts in this process and its demo workspace is grown to that many tasks; the real `taskr`
//! binary starts as a child process on SQLite; a user signs up and connects the workspace
//! through the consent form; the bench waits until the tasks page counts every task and until
//! 200 webhook-delivered changes fill the activity feed. Then, with 32 keep-alive connections
//! sending GETs back to back (1 s warm-up, then 5 s timed), it measures in turn the stylesheet
//! (a static, embedded file: the ceiling of the stack), `/login` signed out, the tasks page and
//! the activity feed signed in, and prints one Markdown table per size.
//!
//! Why the server is a child process and the load generator is not: the child's memory can be
//! read alone from /proc (the peak RSS of each phase), and Taskr runs as it is deployed, with
//! its own runtime and start-up. The generator is a small hyper client in this process rather
//! than an external tool, so that the bench needs nothing installed, every latency is kept
//! (percentiles from all of them, not a histogram's), and any answer other than 200 is seen
//! and fails the run. Both share the machine's cores, as does the idle sandbox: the figures
//! are a floor for a dedicated host.

#[path = "pages/browser.rs"]
mod browser;
#[path = "../tests/app/forms.rs"]
mod forms;
#[path = "pages/load.rs"]
mod load;
#[path = "pages/memory.rs"]
mod memory;
#[path = "pages/sandbox.rs"]
mod sandbox;
#[path = "pages/server.rs"]
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use browser::Browser;
use load::{Outcome, Plan};
use memory::{mib, Peak};
use server::Taskr;

const DEFAULT_SIZES: &[usize] = &[48, 5000];
const CONNECTIONS: usize = 32;
const WARM_UP: Duration = Duration::from_secs(1);
const DEFAULT_SECS: u64 = 5;
/// Changes made after connecting, each one webhook delivery and one activity entry.
const ACTIVITY_CHANGES: usize = 200;
/// How long Taskr's first sync, and applying the changes, may take.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

/// A URL measured, in order, and text its page must contain (checked once before timing).
struct Page {
    path: &'static str,
    signed_in: bool,
    expect: &'static str,
}

const PAGES: &[Page] = &[
    Page {
        path: "/static/taskr.css",
        signed_in: false,
        expect: "Taskr: one small stylesheet",
    },
    Page {
        path: "/login",
        signed_in: false,
        expect: "name=\"csrf_token\"",
    },
    Page {
        // The demo seed's first task: open and oldest, so first on page 1 at any size.
        path: "/",
        signed_in: true,
        expect: "Update the Q2 pipeline forecast",
    },
    Page {
        path: "/activity",
        signed_in: true,
        expect: "task.updated",
    },
];

struct Options {
    sizes: Vec<usize>,
    plan: Plan,
    wrk: Option<String>,
}

fn parse_sizes(raw: &str) -> Result<Vec<usize>> {
    raw.split(',')
        .map(|s| {
            s.trim()
                .parse()
                .with_context(|| format!("{s:?} is not a size"))
        })
        .collect()
}

/// `--sizes 48,5000` (or `--sizes=…`) wins over `PAGES_SIZES`. Cargo adds `--bench`.
fn options() -> Result<Options> {
    let mut sizes = match std::env::var("PAGES_SIZES") {
        Ok(raw) => parse_sizes(&raw)?,
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--sizes" => sizes = parse_sizes(&args.next().context("--sizes needs a list")?)?,
            other => match other.strip_prefix("--sizes=") {
                Some(raw) => sizes = parse_sizes(raw)?,
                None => bail!("unknown argument {other:?} (only --sizes 48,5000)"),
            },
        }
    }
    let secs = match std::env::var("PAGES_SECS") {
        Ok(raw) => raw.trim().parse().context("PAGES_SECS")?,
        Err(_) => DEFAULT_SECS,
    };
    ensure!(!sizes.is_empty() && secs > 0, "nothing to measure");
    Ok(Options {
        sizes,
        plan: Plan {
            connections: CONNECTIONS,
            warm_up: WARM_UP,
            measure: Duration::from_secs(secs),
        },
        wrk: std::env::var("PAGES_WRK").ok().filter(|w| !w.is_empty()),
    })
}

/// One URL's figures.
struct Row {
    path: &'static str,
    bytes: usize,
    outcome: Outcome,
    peak: Peak,
}

struct SizeReport {
    size: usize,
    rows: Vec<Row>,
}

/// Everything up to the first timed request: sandbox, Taskr, a connected user, a full feed.
async fn prepare(size: usize) -> Result<(attio_sandbox::SpawnedSandbox, Taskr, Browser)> {
    let addr = server::free_addr()?;
    let base = server::base_url(addr);
    let (sandbox, app) = sandbox::start(&base).await?;
    let started = Instant::now();
    sandbox::seed_tasks(&sandbox, size).await?;
    eprintln!(
        "{size} tasks: seeded the sandbox in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let taskr = Taskr::start(addr, &app).await?;
    let browser = Browser::new(&base)?;
    browser.sign_up().await?;
    let started = Instant::now();
    browser.connect(&sandbox.base_url()).await?;
    let expected = size as u64;
    browser
        .wait_for_total("/", &format!("all {size} tasks"), SETTLE_LIMIT, |t| {
            t == expected
        })
        .await?;
    eprintln!(
        "{size} tasks: connected and synced in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sandbox::wait_for_webhook(&sandbox, SETTLE_LIMIT).await?;
    sandbox::move_deadlines(&sandbox, ACTIVITY_CHANGES).await?;
    let changes = ACTIVITY_CHANGES as u64;
    let feed = browser
        .wait_for_total("/activity", "the changes", SETTLE_LIMIT, |t| t >= changes)
        .await?;
    let tasks = browser
        .wait_for_total("/", "the same tasks", SETTLE_LIMIT, |t| t == expected)
        .await?;
    eprintln!("{size} tasks: tasks page shows {tasks}, activity feed {feed} entries");
    Ok((sandbox, taskr, browser))
}

/// One GET before timing: a 200 carrying the expected text. Returns the body's size.
async fn check(target: &load::Target, page: &Page) -> Result<usize> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut request = client.get(format!("http://{}{}", target.addr, target.path));
    if let Some(cookie) = &target.cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let response = request.send().await?;
    ensure!(
        response.status() == 200,
        "GET {}: {}",
        page.path,
        response.status()
    );
    let body = response.text().await?;
    ensure!(
        body.contains(page.expect),
        "GET {} lacks {:?}",
        page.path,
        page.expect
    );
    Ok(body.len())
}

async fn measure(taskr: &Taskr, cookie: &str, page: &Page, plan: Plan) -> Result<Row> {
    let target = Arc::new(load::Target {
        addr: taskr.addr,
        path: page.path.to_owned(),
        cookie: page.signed_in.then(|| cookie.to_owned()),
    });
    let bytes = check(&target, page).await?;
    let sampler = memory::Sampler::start(taskr.pid);
    let outcome = load::run(target, plan).await;
    let peak = sampler.stop().await;
    Ok(Row {
        path: page.path,
        bytes,
        outcome,
        peak,
    })
}

/// wrk against the tasks page, same connections and duration, for comparison.
async fn wrk(wrk: &str, taskr: &Taskr, cookie: &str, plan: Plan) -> Result<String> {
    let output = tokio::process::Command::new(wrk)
        .arg("-t2")
        .arg(format!("-c{}", plan.connections))
        .arg(format!("-d{}s", plan.measure.as_secs()))
        .arg("--latency")
        .arg("-H")
        .arg(format!("Cookie: {cookie}"))
        .arg(format!("{}/", server::base_url(taskr.addr)))
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {wrk}"))?;
    ensure!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn bench_size(size: usize, options: &Options) -> Result<SizeReport> {
    let (_sandbox, taskr, browser) = prepare(size).await?;
    let cookie = browser.session_cookie()?;
    let idle = memory::read(taskr.pid).map_or(0, |(rss, _)| rss);
    let mut rows = Vec::new();
    let mut wrk_output = None;
    for page in PAGES {
        rows.push(measure(&taskr, &cookie, page, options.plan).await?);
        // Right after the bench's own run of the tasks page, on the same server state.
        if let (Some(path), "/") = (&options.wrk, page.path) {
            wrk_output = Some(wrk(path, &taskr, &cookie, options.plan).await?);
        }
    }
    let pid = taskr.pid;
    taskr.stop().await?;
    let report = SizeReport { size, rows };
    print_table(&report, pid, idle, options.plan);
    if let Some(output) = wrk_output {
        println!(
            "\nwrk -t2 -c{} -d{}s --latency against `/` ({size} tasks):\n\n```\n{output}```",
            options.plan.connections,
            options.plan.measure.as_secs(),
        );
    }
    Ok(report)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_table(report: &SizeReport, pid: u32, idle_kib: u64, plan: Plan) {
    println!(
        "\n### {} tasks\n\nTaskr pid {pid} (SQLite), {} connections, {} s warm-up then {} s per URL; \
         RSS before the first phase {:.1} MiB.\n",
        report.size,
        plan.connections,
        plan.warm_up.as_secs(),
        plan.measure.as_secs(),
        mib(idle_kib)
    );
    println!("| URL | req/s | p50 ms | p99 ms | max ms | vs stylesheet | peak RSS MiB | VmHWM MiB | body KiB | failures |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let ceiling = report.rows.first().map_or(1.0, |r| r.outcome.rate());
    for row in &report.rows {
        let o = &row.outcome;
        println!(
            "| `{}` | {:.0} | {:.2} | {:.2} | {:.2} | {:.3} | {:.1} | {:.1} | {:.1} | {} |",
            row.path,
            o.rate(),
            ms(o.percentile(0.50)),
            ms(o.percentile(0.99)),
            ms(o.max()),
            o.rate() / ceiling,
            mib(row.peak.rss_kib),
            mib(row.peak.hwm_kib),
            row.bytes as f64 / 1024.0,
            o.failures
        );
    }
}

fn tasks_page(report: &SizeReport) -> Option<(usize, &Outcome)> {
    let row = report.rows.iter().find(|row| row.path == "/")?;
    Some((report.size, &row.outcome))
}

/// The tasks page of the largest workspace against the smallest one's.
fn compare(reports: &[SizeReport]) {
    let (Some((small, a)), Some((large, b))) = (
        reports.iter().min_by_key(|r| r.size).and_then(tasks_page),
        reports.iter().max_by_key(|r| r.size).and_then(tasks_page),
    ) else {
        return;
    };
    if small == large {
        return;
    }
    let (large_p50, small_p50) = (ms(b.percentile(0.5)), ms(a.percentile(0.5)));
    let how = if large_p50 >= small_p50 {
        format!("{:.2}× slower", large_p50 / small_p50)
    } else {
        format!("{:.2}× faster", small_p50 / large_p50)
    };
    println!(
        "\n{large}-task first page is {how} than the {small}-task one at p50 ({large_p50:.2} ms vs \
         {small_p50:.2} ms) and serves {:.0} req/s against {:.0} ({:.2}× the rate).",
        b.rate(),
        a.rate(),
        b.rate() / a.rate()
    );
}

/// Every failure, loudly; `Err` when there was any.
fn verdict(reports: &[SizeReport]) -> Result<()> {
    let mut failed = false;
    for report in reports {
        for row in &report.rows {
            if row.outcome.failures > 0 {
                failed = true;
                eprintln!(
                    "\n!!! FAILED: {} tasks, GET {}: {} requests failed; first: {}",
                    report.size,
                    row.path,
                    row.outcome.failures,
                    row.outcome.first_failure.as_deref().unwrap_or("?")
                );
            }
        }
    }
    ensure!(
        !failed,
        "some requests did not get a 200; the figures above are not valid"
    );
    Ok(())
}

fn main() -> Result<()> {
    let options = options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Returning drops the run, and with it the child (`kill_on_drop`), as a panic does.
        tokio::select! {
            result = run(&options) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn run(options: &Options) -> Result<()> {
    let mut reports = Vec::new();
    for &size in &options.sizes {
        reports.push(bench_size(size, options).await?);
    }
    compare(&reports);
    verdict(&reports)
}
