//! GetMetricData for run windows: one call per window and batch of at most
//! 500 queries, every NextToken page followed, and polling (bounded by
//! `wait_for_data`) until late datapoints cover the run.
//!
//! The page loop is generic over the call ([`collect_pages`]) so it is tested
//! without the SDK; [`fetch_window`] plugs the SDK in.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use super::client::{classify, CloudWatch};
use super::window::{self, merge_page, Marks, Page, Query, QueryKind, Window};
use super::CloudWatchError;
use crate::results::RunMetrics;

/// Most pages followed for one batch: a guard against a token that never ends.
const MAX_PAGES: usize = 1000;

/// Longest pause between two polls for late data.
const POLL_INTERVAL: Duration = Duration::from_secs(20);

/// Follows NextToken from the first page to the last, merging the results.
pub async fn collect_pages<F, Fut>(
    mut call: F,
) -> Result<(Vec<(String, Vec<(i64, f64)>)>, Vec<String>), CloudWatchError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page, CloudWatchError>>,
{
    let mut results = Vec::new();
    let mut messages = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let mut page = call(token.take()).await?;
        let next = page.next_token.take().filter(|t| !t.is_empty());
        messages.append(&mut page.messages);
        merge_page(&mut results, page);
        match next {
            Some(t) => token = Some(t),
            None => return Ok((results, messages)),
        }
    }
    Err(CloudWatchError::Service {
        operation: "GetMetricData",
        code: "TooManyPages".into(),
        message: format!("more than {MAX_PAGES} pages for one window"),
    })
}

/// The SDK query of a plain [`Query`].
fn sdk_query(q: &Query, period: i32) -> MetricDataQuery {
    let b = MetricDataQuery::builder()
        .id(&q.id)
        .label(&q.label)
        .return_data(true);
    match &q.kind {
        QueryKind::Metric {
            namespace,
            metric,
            dimensions,
        } => {
            let mut m = Metric::builder().namespace(namespace).metric_name(metric);
            for (name, value) in dimensions {
                m = m.dimensions(Dimension::builder().name(name).value(value).build());
            }
            b.metric_stat(
                MetricStat::builder()
                    .metric(m.build())
                    .period(period)
                    .stat(&q.stat)
                    .build(),
            )
            .build()
        }
        QueryKind::Expression(e) => b.expression(e).period(period).build(),
    }
}

/// One page of GetMetricData.
async fn page(
    cw: &CloudWatch,
    batch: &[Query],
    window: &Window,
    token: Option<String>,
) -> Result<Page, CloudWatchError> {
    let period = i32::try_from(window.period).unwrap_or(i32::MAX);
    let out = cw
        .client
        .get_metric_data()
        .set_metric_data_queries(Some(batch.iter().map(|q| sdk_query(q, period)).collect()))
        .start_time(DateTime::from_secs(window.start))
        .end_time(DateTime::from_secs(window.end))
        .scan_by(ScanBy::TimestampAscending)
        .set_next_token(token)
        .send()
        .await
        .map_err(|e| classify("GetMetricData", e))?;
    let results = out
        .metric_data_results()
        .iter()
        .map(|r| {
            let points = r
                .timestamps()
                .iter()
                .zip(r.values())
                .map(|(t, v)| (t.secs(), *v))
                .collect();
            (r.id().unwrap_or_default().to_string(), points)
        })
        .collect();
    let messages = out
        .messages()
        .iter()
        .chain(out.metric_data_results().iter().flat_map(|r| r.messages()))
        .map(|m| {
            format!(
                "{}: {}",
                m.code().unwrap_or_default(),
                m.value().unwrap_or_default()
            )
        })
        .collect();
    Ok(Page {
        results,
        messages,
        next_token: out.next_token().map(str::to_string),
    })
}

/// Raw points of every query over one window: every batch, every page.
pub async fn fetch_raw(
    cw: &CloudWatch,
    queries: &[Query],
    window: &Window,
) -> Result<(Vec<(String, Vec<(i64, f64)>)>, Vec<String>), CloudWatchError> {
    let mut all = Vec::new();
    let mut messages = Vec::new();
    for batch in window::batches(queries) {
        let (mut r, mut m) = collect_pages(|token| page(cw, batch, window, token)).await?;
        all.append(&mut r);
        messages.append(&mut m);
    }
    Ok((all, messages))
}

/// Fetches one window, polling until the run is covered or `deadline` passes.
pub async fn fetch_window(
    cw: &CloudWatch,
    queries: &[Query],
    window: &Window,
    marks: Marks,
    deadline: Instant,
) -> Result<RunMetrics, CloudWatchError> {
    let (raw, messages) = loop {
        let (raw, messages) = fetch_raw(cw, queries, window).await?;
        let now = Instant::now();
        if window::covered(&raw, queries, window) || now >= deadline {
            break (raw, messages);
        }
        let pause = POLL_INTERVAL.min(deadline - now);
        tracing::info!(
            "CloudWatch data for the window ending {} is not complete yet; polling again in {} s",
            window::rfc3339(window.end),
            pause.as_secs()
        );
        tokio::time::sleep(pause).await;
    };
    let mut warnings: Vec<String> = messages
        .into_iter()
        .map(|m| format!("CloudWatch says {m}"))
        .collect();
    let metrics = queries
        .iter()
        .map(|q| {
            let points = raw
                .iter()
                .find(|(id, _)| *id == q.id)
                .map_or(&[][..], |(_, p)| p.as_slice());
            if points.is_empty() {
                warnings.push(empty_warning(q, window));
            }
            window::series(q, points, window, marks)
        })
        .collect();
    Ok(RunMetrics {
        window_start: window::rfc3339(window.start),
        window_end: window::rfc3339(window.end),
        period_s: u32::try_from(window.period).unwrap_or(u32::MAX),
        metrics,
        warnings,
    })
}

/// The warning for a query without any datapoint in its window.
fn empty_warning(q: &Query, window: &Window) -> String {
    let what = match &q.kind {
        QueryKind::Metric {
            namespace,
            metric,
            dimensions,
        } => {
            let dims: Vec<String> = dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "`{}` ({}) of {namespace}/{metric} [{}]",
                q.label,
                q.stat,
                dims.join(", ")
            )
        }
        QueryKind::Expression(e) => format!("`{}` (expression `{e}`)", q.label),
    };
    format!(
        "{what} has no datapoint between {} and {}: CloudWatch answers an unknown metric (wrong namespace, name or dimensions) exactly like a metric without data, so check those, and whether the data had arrived",
        window::rfc3339(window.start),
        window::rfc3339(window.end)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[tokio::test]
    async fn pages_are_followed_and_merged_by_id() {
        let calls = RefCell::new(Vec::new());
        let (results, _) = collect_pages(|token: Option<String>| {
            calls.borrow_mut().push(token.clone());
            let page = match token.as_deref() {
                None => Page {
                    results: vec![("a".into(), vec![(0, 1.0), (60, 2.0)])],
                    messages: vec![],
                    next_token: Some("t1".into()),
                },
                Some("t1") => Page {
                    results: vec![("a".into(), vec![(120, 3.0)]), ("b".into(), vec![(0, 9.0)])],
                    messages: vec![],
                    next_token: Some("t2".into()),
                },
                _ => Page {
                    results: vec![("b".into(), vec![(60, 8.0)])],
                    messages: vec!["x: y".into()],
                    next_token: None,
                },
            };
            async move { Ok(page) }
        })
        .await
        .unwrap();
        assert_eq!(
            *calls.borrow(),
            [None, Some("t1".to_string()), Some("t2".to_string())]
        );
        assert_eq!(
            results,
            vec![
                ("a".to_string(), vec![(0, 1.0), (60, 2.0), (120, 3.0)]),
                ("b".to_string(), vec![(0, 9.0), (60, 8.0)]),
            ]
        );
    }

    #[tokio::test]
    async fn an_endless_token_stops() {
        let err = collect_pages(|_| async {
            Ok(Page {
                next_token: Some("same".into()),
                ..Page::default()
            })
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("pages"), "{err}");
    }
}
