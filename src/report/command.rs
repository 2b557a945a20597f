//! `msgperf report`: the only part of the report stage that touches files.
//! Reads result directories (merging machines' shards) and an optional
//! baseline, runs the pure analysis and rendering, and writes report.md,
//! report.json, report.html, charts/ and a history line.
//!
//! Merge rule: result files from all `--results` paths (directories, files,
//! or globs of downloaded artifacts) are pooled; the same run in two places
//! (the same artifact downloaded twice) counts once, and the parts of a split
//! scenario (`split: K`, one per runner) are merged into one run by wall-clock
//! second ([`crate::analysis::merge`]). Any other repeat of a scenario id is a
//! [`ReportError::Conflict`]: each machine must run distinct repetitions.

use super::ab;
use super::baseline;
use super::charts::{self, ChartError};
use super::model::{self, BaselineInput, Report};
use super::{format, history, html, markdown, terminal};
use crate::analysis;
use crate::matrix::Gate;
use crate::results::{self, ResultsError, RunResult};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `msgperf report` was asked to do.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Result directories (or single result files), one per machine or shard.
    pub results: Vec<PathBuf>,
    /// A previous report.json, its directory, or a results directory.
    pub baseline: Option<PathBuf>,
    /// Where report.md, report.json and charts/ go (created if missing).
    pub out: PathBuf,
    /// Regression gate.
    pub gate: Gate,
    /// JSON Lines file to append one line to, for nightly trends.
    pub history: Option<PathBuf>,
    /// Name of the baseline in sentences ("vs main"); default `baseline`.
    pub baseline_label: Option<String>,
}

/// What `msgperf report` produced.
#[derive(Debug, Clone)]
pub struct ReportOutcome {
    /// The report as data (what report.json holds).
    pub report: Report,
    /// report.md's text.
    pub markdown: String,
    /// A compact plain-text table for the terminal.
    pub summary_table: String,
    /// A scenario regressed.
    pub regressed: bool,
    /// 1 when the gate fails the command, else 0.
    pub exit_code: i32,
    /// Path of report.md.
    pub markdown_path: PathBuf,
    /// Path of report.json.
    pub json_path: PathBuf,
    /// Path of report.html, the self-contained page with the same content.
    pub html_path: PathBuf,
    /// Chart files written (SVG and PNG).
    pub charts: Vec<PathBuf>,
    /// The history file appended to, if any.
    pub history: Option<PathBuf>,
}

/// Why `msgperf report` failed; every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No `--results` given.
    #[error(
        "no results directory given: pass --results DIR (the output directory of `msgperf run`)"
    )]
    NoResultsDirs,
    /// The directories hold no result file.
    #[error("no result files (*.json) in {dirs}: run `msgperf run` first, or point --results at the directories holding its output")]
    NoResults {
        /// The directories searched.
        dirs: String,
    },
    /// A result file could not be read.
    #[error("{0} (check the --results path)")]
    Results(#[from] ResultsError),
    /// The same scenario id with different data in two places.
    #[error("scenario {id} is in both {first} and {second} with different data: give each machine distinct repetitions (scenario ids), or pass only one of the directories")]
    Conflict {
        /// The scenario id.
        id: String,
        /// Where it was seen first.
        first: PathBuf,
        /// Where it was seen again.
        second: PathBuf,
    },
    /// The baseline could not be used.
    #[error("baseline {path}: {message}; pass a previous report.json, the directory holding it, or a results directory")]
    Baseline {
        /// The path given.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Writing an output failed.
    #[error("{path}: {source} (check that --out is a writable directory)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
}

/// Writes a file through a renderer (`fmt::Write`), buffered, keeping the
/// I/O error a failed write had.
fn write_file(
    path: &Path,
    render: impl FnOnce(&mut FmtFile) -> std::fmt::Result,
) -> Result<(), ReportError> {
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut out = FmtFile {
        file: std::io::BufWriter::new(file),
        error: None,
    };
    let rendered = render(&mut out);
    match (out.error.take(), rendered) {
        (Some(e), _) => Err(io(path)(e)),
        (None, Err(_)) => Err(io(path)(std::io::Error::other("a renderer failed"))),
        (None, Ok(())) => out.file.flush().map_err(io(path)),
    }
}

/// A buffered file as a renderer's `fmt::Write`.
struct FmtFile {
    file: std::io::BufWriter<std::fs::File>,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for FmtFile {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.file.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `msgperf report`.
pub fn run(opts: &ReportOptions) -> Result<ReportOutcome, ReportError> {
    run_for(opts, &Commit::default())
}

/// The commit a report is about, for its history line; the command layer
/// reads it from the runner (`GITHUB_SHA`, `GITHUB_REF_NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// The commit's SHA.
    pub sha: Option<String>,
    /// The branch or tag.
    pub git_ref: Option<String>,
    /// The workflow run's web page, for report.html's run details.
    pub run_url: Option<String>,
}

/// Like [`run`], with the commit the history line names.
pub fn run_for(opts: &ReportOptions, commit: &Commit) -> Result<ReportOutcome, ReportError> {
    write(opts, commit, prepare(opts)?)
}

/// The result files read (shards pooled, split parts merged) and analysed
/// once: what every later step of the pipeline works on.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The runs, as the report shows them.
    pub results: Vec<RunResult>,
    /// Their analysis.
    pub analysis: analysis::Analysis,
    /// An A/B job's base and candidate runs (`results` are the candidate's).
    pub sides: Option<(Vec<RunResult>, Vec<RunResult>)>,
}

impl Prepared {
    /// Each run with its analysis, in the order of `results`.
    pub fn analysed(&self) -> Vec<(&RunResult, &analysis::RunAnalysis)> {
        self.results
            .iter()
            .filter_map(|r| {
                let a = self.analysis.runs.iter().find(|a| a.id == r.scenario.id)?;
                Some((r, a))
            })
            .collect()
    }
}

/// The first step of the pipeline: read and analyse `opts.results`.
pub fn prepare(opts: &ReportOptions) -> Result<Prepared, ReportError> {
    let all = read_results(&opts.results)?;
    // An A/B job: the candidate's runs are the report's, the base runs its
    // baseline (unless one is given), and the pairs are judged on their own.
    let sides = ab::split(&all);
    let results = sides.as_ref().map_or(all, |(_, c)| c.clone());
    let analysis = analysis::analyze(&results);
    Ok(Prepared {
        results,
        analysis,
        sides,
    })
}

/// The last step: render and write report.md, report.json, report.html,
/// charts/ and the history line of `prepared`.
pub fn write(
    opts: &ReportOptions,
    commit: &Commit,
    prepared: Prepared,
) -> Result<ReportOutcome, ReportError> {
    let Prepared {
        results,
        analysis,
        sides,
    } = prepared;
    let base = baseline_for(opts, sides.as_ref().map(|(b, _)| b.as_slice()))?;
    let generated_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let sources = opts
        .results
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut report = model::build(
        &results,
        analysis,
        base.as_ref(),
        &opts.gate,
        &generated_at,
        sources,
    );
    if let Some((b, c)) = &sides {
        ab::apply(&mut report, ab::section(b, c, &opts.gate), &opts.gate);
    }
    let chart_files = charts::render_all(&report, &results)?;
    let chart_dir = opts.out.join("charts");
    std::fs::create_dir_all(&chart_dir).map_err(io(&chart_dir))?;
    clean_charts(&chart_dir)?;
    let mut written = Vec::new();
    for c in &chart_files {
        for (ext, bytes) in [("svg", c.svg.as_bytes()), ("png", c.png.as_slice())] {
            let path = chart_dir.join(format!("{}.{ext}", c.stem));
            std::fs::write(&path, bytes).map_err(io(&path))?;
            report.charts.push(format!("charts/{}.{ext}", c.stem));
            written.push(path);
        }
    }
    let html_path = opts.out.join(html::FILE_NAME);
    write_file(&html_path, |out| {
        html::render(out, &report, &chart_files, commit.run_url.as_deref())
    })?;
    let md = format::text(|out| markdown::render(out, &report));
    let markdown_path = opts.out.join("report.md");
    std::fs::write(&markdown_path, &md).map_err(io(&markdown_path))?;
    let json_path = opts.out.join("report.json");
    let mut json = serde_json::to_string_pretty(&report).expect("report types always serialize");
    json.push('\n');
    std::fs::write(&json_path, json).map_err(io(&json_path))?;
    if let Some(h) = &opts.history {
        let line = history::line(&report, commit.sha.clone(), commit.git_ref.clone());
        append(h, &history::to_json_line(&line))?;
    }
    Ok(ReportOutcome {
        summary_table: format::text(|out| terminal::summary_table(out, &report)),
        regressed: report.regressed,
        exit_code: i32::from(report.gate_failed),
        markdown: md,
        markdown_path,
        json_path,
        html_path,
        charts: written,
        history: opts.history.clone(),
        report,
    })
}

/// The baseline to compare with: `--baseline`, else an A/B job's base runs.
fn baseline_for(
    opts: &ReportOptions,
    ab_base: Option<&[RunResult]>,
) -> Result<Option<BaselineInput>, ReportError> {
    Ok(match (&opts.baseline, ab_base) {
        (Some(p), _) => Some(load_baseline(p, opts.baseline_label.clone())?),
        (None, Some(b)) => Some(BaselineInput {
            label: "base".into(),
            source: "the base runs of this job".into(),
            scenarios: baseline::from_results(b),
        }),
        (None, None) => None,
    })
}

/// Reads and merges the result directories (see the module doc for the rule).
pub fn read_results(paths: &[PathBuf]) -> Result<Vec<RunResult>, ReportError> {
    if paths.is_empty() {
        return Err(ReportError::NoResultsDirs);
    }
    let mut seen: Vec<(RunResult, PathBuf)> = Vec::new();
    for p in expand_globs(paths)? {
        let p = &p;
        for r in runs_in(p)? {
            let part = |x: &RunResult| x.split.as_ref().map(|s| s.part);
            // Both sides of an A/B job run the same scenario ids.
            let same = |s: &RunResult| s.scenario.id == r.scenario.id && s.side == r.side;
            match seen.iter().find(|(s, _)| same(s) && part(s) == part(&r)) {
                Some((s, _)) if *s == r => {}
                Some((_, first)) => {
                    return Err(ReportError::Conflict {
                        id: r.scenario.id.clone(),
                        first: first.clone(),
                        second: p.clone(),
                    })
                }
                None => seen.push((r, p.clone())),
            }
        }
    }
    if seen.is_empty() {
        let dirs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(ReportError::NoResults {
            dirs: dirs.join(", "),
        });
    }
    let mut out: Vec<RunResult> = Vec::new();
    let mut parts: Vec<(String, Vec<RunResult>, PathBuf)> = Vec::new();
    for (r, path) in seen {
        if r.split.is_some() {
            let side = |x: &RunResult| x.side;
            match parts.iter_mut().find(|(id, list, _)| {
                *id == r.scenario.id && list.first().map(side) == Some(r.side)
            }) {
                Some((_, list, _)) => list.push(r),
                None => parts.push((r.scenario.id.clone(), vec![r], path)),
            }
        } else {
            out.push(r);
        }
    }
    for (id, list, path) in parts {
        let side = list.first().and_then(|r| r.side);
        if let Some(whole) = out.iter().find(|r| r.scenario.id == id && r.side == side) {
            return Err(ReportError::Conflict {
                id,
                first: PathBuf::from(format!("{} (a whole run)", whole.file_name())),
                second: path,
            });
        }
        out.push(crate::analysis::merge::merge_parts(list));
    }
    out.sort_by(|a, b| (&a.scenario.id, a.side).cmp(&(&b.scenario.id, b.side)));
    Ok(out)
}

/// The runs of one `--results` path (a directory or a file). One file that
/// cannot be read (half-written, damaged, of a newer schema) is skipped with
/// a warning naming it instead of failing the report; a journal without its
/// result file becomes the `interrupted` run it recorded
/// ([`results::journal`]), with a warning saying so.
fn runs_in(p: &Path) -> Result<Vec<RunResult>, ReportError> {
    let skip = |e: &ResultsError| eprintln!("warning: skipping {e}");
    if p.is_file() {
        let read = if results::journal::is_journal(p) {
            results::journal::recover(p).inspect(|r| recovered(r, p))
        } else {
            RunResult::read(p)
        };
        return Ok(read.map_or_else(
            |e| {
                skip(&e);
                Vec::new()
            },
            |r| vec![r],
        ));
    }
    let scan = results::scan_dir(p)?;
    scan.unreadable.iter().for_each(skip);
    for (r, journal) in &scan.recovered {
        recovered(r, journal);
    }
    Ok(scan
        .runs
        .into_iter()
        .chain(scan.recovered)
        .map(|(r, _)| r)
        .collect())
}

fn recovered(r: &RunResult, journal: &Path) {
    eprintln!(
        "warning: {}: run {} has no result file (the process was killed): reported as interrupted, from the {} s of timeline its journal kept",
        journal.display(),
        r.scenario.id,
        r.timeline.len()
    );
}

/// Paths as given, with `*`, `?` and `[...]` patterns expanded (sorted), so
/// `--results 'artifacts/msgperf-results-*'` works without a shell; a pattern
/// that matches nothing is an error naming it.
fn expand_globs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let mut out = Vec::new();
    for p in paths {
        let text = p.to_string_lossy();
        if !text.contains(['*', '?', '[']) || p.exists() {
            out.push(p.clone());
            continue;
        }
        let matches: Vec<PathBuf> = glob::glob(&text)
            .map_err(|e| ReportError::NoResults {
                dirs: format!("{text} (bad pattern: {e})"),
            })?
            .filter_map(Result::ok)
            .collect();
        if matches.is_empty() {
            return Err(ReportError::NoResults {
                dirs: text.into_owned(),
            });
        }
        out.extend(matches);
    }
    Ok(out)
}

/// Loads a baseline from a report.json, a directory holding one, or a results directory.
pub fn load_baseline(path: &Path, label: Option<String>) -> Result<BaselineInput, ReportError> {
    let fail = |message: String| ReportError::Baseline {
        path: path.to_path_buf(),
        message,
    };
    let label = label.unwrap_or_else(|| "baseline".into());
    let source = path.display().to_string();
    let scenarios = if path.is_dir() {
        let runs = results::read_dir(path).map_err(|e| fail(e.to_string()))?;
        let report = path.join("report.json");
        if !runs.is_empty() {
            // Merged like the current results, so split parts compare as one run.
            let merged = read_results(&[path.to_path_buf()]).map_err(|e| fail(e.to_string()))?;
            baseline::from_results(&merged)
        } else if report.is_file() {
            baseline::from_report_json(&read(&report).map_err(fail)?).map_err(fail)?
        } else {
            return Err(fail("no result files and no report.json in it".into()));
        }
    } else if path.is_file() {
        let text = read(path).map_err(fail)?;
        match baseline::from_report_json(&text) {
            Ok(s) => s,
            Err(report_err) => match RunResult::read(path) {
                Ok(run) => baseline::from_results(&[run]),
                Err(_) => return Err(fail(report_err)),
            },
        }
    } else {
        return Err(fail("no such file or directory".into()));
    };
    Ok(BaselineInput {
        label,
        source,
        scenarios,
    })
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn clean_charts(dir: &Path) -> Result<(), ReportError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let ours = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("svg" | "png")
        );
        if ours && path.is_file() {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

fn append(path: &Path, line: &str) -> Result<(), ReportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    f.write_all(line.as_bytes()).map_err(io(path))
}
