//! Which `permissions:` entry each GitHub call needs, so a 403/404 names the
//! permission of the call that failed (docs/action.md has the table).

use http::Method;

/// The `permissions:` entry the call `method path` needs, in backticks
/// (docs/action.md has the table): artifacts need `actions: read`, the
/// tracking issue `issues: write`, PR comments `pull-requests: write`.
pub fn permission_for(method: &Method, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path);
    let after_repo = path
        .strip_prefix("/repos/")
        .and_then(|p| p.splitn(3, '/').nth(2))
        .unwrap_or("");
    let segments: Vec<&str> = after_repo.split('/').collect();
    match segments.as_slice() {
        ["actions", "artifacts", ..] => "`actions: read`",
        ["commits", _, "pulls"] => "`pull-requests: read`",
        ["issues", "comments", ..] => "`pull-requests: write`",
        ["issues", _, "comments"] if *method == Method::GET => "`pull-requests: write`",
        // The same endpoint writes a PR's comment and the tracking issue's.
        ["issues", _, "comments"] => {
            "`pull-requests: write` (a PR's comment) or `issues: write` (the tracking issue)"
        }
        ["issues"] | ["issues", _] => "`issues: write`",
        _ => "`contents: read`",
    }
}

#[cfg(test)]
mod tests {
    use super::permission_for;

    #[test]
    fn each_call_names_the_permission_it_needs() {
        use http::Method;
        let p = |m: Method, path: &str| permission_for(&m, path);
        assert_eq!(
            p(
                Method::GET,
                "/repos/o/r/actions/artifacts?name=x&per_page=100"
            ),
            "`actions: read`"
        );
        assert_eq!(
            p(Method::GET, "/repos/o/r/actions/artifacts/3/zip"),
            "`actions: read`"
        );
        assert_eq!(p(Method::GET, "/repos/o/r"), "`contents: read`");
        assert_eq!(p(Method::POST, "/repos/o/r/issues"), "`issues: write`");
        assert_eq!(
            p(Method::GET, "/repos/o/r/issues?state=open&labels=x"),
            "`issues: write`"
        );
        assert_eq!(p(Method::PATCH, "/repos/o/r/issues/12"), "`issues: write`");
        assert_eq!(
            p(Method::GET, "/repos/o/r/issues/7/comments?per_page=100"),
            "`pull-requests: write`"
        );
        assert_eq!(
            p(Method::PATCH, "/repos/o/r/issues/comments/5"),
            "`pull-requests: write`"
        );
        assert_eq!(
            p(Method::GET, "/repos/o/r/commits/abc/pulls"),
            "`pull-requests: read`"
        );
        assert!(p(Method::POST, "/repos/o/r/issues/7/comments").contains("`issues: write`"));
    }
}
