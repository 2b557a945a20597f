//! report.html: the whole report as one self-contained page, for a browser.
//!
//! It holds the charts as inline SVG (the same drawings as charts/*.svg),
//! report.md's tables and run details (converted from its markdown, without
//! the Mermaid block and without the comment's size budget), the CloudWatch
//! panels when the runs have them, and the baseline compared against. Nothing
//! is loaded from anywhere: no external scripts, fonts, styles or images, and
//! a Content-Security-Policy that forbids them, so the page opens from a
//! downloaded artifact offline. It reads fully without JavaScript; the small
//! inline script only adds "show/hide all run details".

use super::charts::ChartFile;
use super::markdown;
use super::model::Report;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::fmt::{self, Write};

/// File name of the page, next to report.md.
pub const FILE_NAME: &str = "report.html";

/// The page's Content-Security-Policy: nothing but inline styles and the one
/// inline script; no network request of any kind.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;\
padding:1rem 2rem;color:#1f2328;line-height:1.45}\
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;\
padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}\
code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}\
figure{margin:1rem 0;overflow-x:auto}figure svg{max-width:100%;height:auto}\
figcaption{font-weight:600;margin-bottom:.3rem}details{margin:.4rem 0}\
.meta td:first-child{font-weight:600}nav a{margin-right:1rem}";

const SCRIPT: &str = "document.getElementById('toggle-details').hidden=false;\
document.getElementById('toggle-details').addEventListener('click',function(){\
var d=document.querySelectorAll('#tables details');var open=!d[0]||!d[0].open;\
d.forEach(function(e){e.open=open;});});";

/// What each chart must show, by the start of its file stem: the legend
/// words the browser test looks for in the drawn SVG.
pub fn expected_series(stem: &str) -> &'static [&'static str] {
    if stem.starts_with("rate-") {
        &["sent/s", "delivered/s", "active chats"]
    } else if stem.starts_with("cloudwatch-") {
        &["sent/s"]
    } else if stem == "published" {
        &["active chats at the first error"]
    } else if stem == "latency" {
        &["p50", "p99"]
    } else if stem == "ab-ratios" {
        &["pair ratio", "geometric mean"]
    } else {
        &[]
    }
}

/// Renders report.html from the report, its charts, and the run's web page
/// (`run_url`, the workflow run, when known).
pub fn render(
    out: &mut impl Write,
    report: &Report,
    charts: &[ChartFile],
    run_url: Option<&str>,
) -> fmt::Result {
    let title = format!("msgperf report · {}", report.generated_at);
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    )?;
    writeln!(
        out,
        "<h1>msgperf report</h1>\n<p id=\"headline\">{}</p>",
        escape(&report.headline)
    )?;
    out.write_str("<nav><a href=\"#details\">Run details</a><a href=\"#charts\">Charts</a><a href=\"#tables\">Tables</a></nav>\n")?;
    details_table(out, report, run_url)?;
    charts_section(out, charts)?;
    out.write_str("<section id=\"tables\">\n<h2>Tables</h2>\n")?;
    out.write_str(
        "<button id=\"toggle-details\" type=\"button\" hidden>Show/hide all run details</button>\n",
    )?;
    out.write_str(&markdown_to_html(&tables_markdown(report)?))?;
    out.write_str("</section>\n")?;
    write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n")
}

/// report.md's text as the page shows it: without the Mermaid chart (the
/// SVG charts draw the same) and without the comment's size budget.
fn tables_markdown(report: &Report) -> Result<String, fmt::Error> {
    let mut r = report.clone();
    r.timeline = None;
    let mut md = String::new();
    markdown::render_within(&mut md, &r, usize::MAX / 2)?;
    Ok(md)
}

fn details_table(out: &mut impl Write, report: &Report, run_url: Option<&str>) -> fmt::Result {
    let mut rows: Vec<(String, String)> = vec![
        ("Generated".into(), escape(&report.generated_at)),
        ("msgperf".into(), escape(&report.msgperf_version)),
        ("Results".into(), escape(&report.sources.join(", "))),
        (
            "Gate".into(),
            format!(
                "changes of at least {:.0}% at α = {} {}",
                report.gate.min_change * 100.0,
                report.gate.alpha,
                if report.gate.fail_on_regression {
                    "fail the run"
                } else {
                    "are reported only"
                }
            ),
        ),
    ];
    let baseline = match &report.baseline {
        Some(b) => format!("{} ({})", escape(&b.label), escape(&b.source)),
        None => "none: nothing to compare against".into(),
    };
    rows.push(("Baseline".into(), baseline));
    if let Some(url) = run_url {
        rows.push((
            "Workflow run".into(),
            format!("<a href=\"{0}\">{0}</a>", escape(url)),
        ));
    }
    out.write_str("<section id=\"details\">\n<h2>Run details</h2>\n<table class=\"meta\">\n")?;
    for (k, v) in rows {
        writeln!(out, "<tr><td>{k}</td><td>{v}</td></tr>")?;
    }
    out.write_str("</table>\n</section>\n")
}

fn charts_section(out: &mut impl Write, charts: &[ChartFile]) -> fmt::Result {
    out.write_str("<section id=\"charts\">\n<h2>Charts</h2>\n")?;
    if charts.is_empty() {
        out.write_str("<p>No charts: no run has a timeline.</p>\n")?;
    }
    for c in charts {
        write!(
            out,
            "<figure class=\"chart\" id=\"chart-{0}\" data-stem=\"{0}\" data-series=\"{1}\">\n\
<figcaption>{2}</figcaption>\n{3}\n</figure>\n",
            escape(&c.stem),
            escape(&expected_series(&c.stem).join("|")),
            escape(&c.title),
            inline_svg(&c.svg)
        )?;
    }
    out.write_str("</section>\n")
}

/// An SVG document as an element to put in HTML: without an XML declaration.
fn inline_svg(svg: &str) -> &str {
    let s = svg.trim_start();
    match (s.starts_with("<?xml"), s.find("?>")) {
        (true, Some(i)) => s[i + 2..].trim_start(),
        _ => s,
    }
}

/// Converts report.md's GitHub markdown to HTML. Raw HTML passes only when
/// it is made of the few tags report.md writes itself (`<details>`,
/// `<summary>`, `<b>`, `<code>`, `<br>`, comments); anything else is shown
/// as text, so no text from a result file can add a script or a request.
pub fn markdown_to_html(md: &str) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let mut in_mermaid = false;
    let events = Parser::new_ext(md, opts).filter_map(|e| match e {
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(ref lang))) if &**lang == "mermaid" => {
            in_mermaid = true;
            None
        }
        Event::End(TagEnd::CodeBlock) if in_mermaid => {
            in_mermaid = false;
            None
        }
        _ if in_mermaid => None,
        Event::Html(h) if !allowed_html(&h) => Some(Event::Text(h)),
        Event::InlineHtml(h) if !allowed_html(&h) => Some(Event::Text(h)),
        // An image would be a request: only its alt text is kept.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

const ALLOWED_TAGS: [&str; 8] = ["details", "summary", "b", "code", "br", "sub", "sup", "i"];

fn allowed_html(h: &str) -> bool {
    let mut rest = h;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if let Some(body) = rest.strip_prefix("<!--") {
            match body.find("-->") {
                Some(j) => rest = &body[j + 3..],
                None => return false,
            }
            continue;
        }
        let Some(j) = rest.find('>') else {
            return false;
        };
        let tag = rest[1..j]
            .trim_start_matches('/')
            .trim_end_matches('/')
            .trim();
        if !ALLOWED_TAGS.contains(&tag) {
            return false;
        }
        rest = &rest[j + 1..];
    }
    true
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_passes_only_report_md_tags() {
        assert!(allowed_html(
            "<details>\n<summary><b>x</b> · <code>y</code></summary>\n"
        ));
        assert!(allowed_html("</details>\n<!-- msgperf -->"));
        assert!(!allowed_html("<script>alert(1)</script>"));
        assert!(!allowed_html("<img src=\"http://example.invalid/x.png\">"));
        let html = markdown_to_html(
            "a <img src=\"http://x.invalid/p.png\"> b\n\n```mermaid\nxychart\n```\n",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("xychart"), "{html}");
    }

    #[test]
    fn tables_become_html_tables() {
        let html = markdown_to_html("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(
            html.contains("<table>") && html.contains("<td>2</td>"),
            "{html}"
        );
    }

    #[test]
    fn svg_loses_its_xml_declaration() {
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg/>"), "<svg/>");
        assert_eq!(inline_svg("<svg/>"), "<svg/>");
    }
}
