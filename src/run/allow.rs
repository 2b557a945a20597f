//! The allowed-hosts check of an external target, before any traffic: every
//! host its URLs name must be loopback or allowed (the rule is
//! [`crate::matrix::hosts`]'s). The hosts are read with the same URL parsers
//! the clients dial with, so the check sees the host the traffic would go to.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::RunError;
use crate::load;
use crate::matrix::hosts::{self, Why};
use crate::matrix::{HostPattern, Target};

/// The longest a name's resolution may take before the name is refused.
pub(super) const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The host each target URL names, with its key: the WebSocket URL as
/// tungstenite parses it (with `/connect` added as the workers do), the REST
/// URLs as reqwest does. A URL without a host is refused as such.
fn target_hosts(target: &Target) -> Vec<(&'static str, Result<String, String>)> {
    let ws = load::connect_url(&target.messenger_ws_url)
        .into_client_request()
        .map_err(|e| e.to_string())
        .and_then(|r| r.uri().host().map(str::to_string).ok_or_else(no_host));
    let rest = |url: &str| {
        reqwest::Url::parse(url)
            .map_err(|e| e.to_string())
            .and_then(|u| u.host_str().map(str::to_string).ok_or_else(no_host))
    };
    vec![
        ("messenger_ws_url", ws),
        ("organizer_api_url", rest(&target.organizer_api_url)),
        ("participant_api_url", rest(&target.participant_api_url)),
    ]
}

fn no_host() -> String {
    "the URL has no host".into()
}

/// Every address of `host`, from the system resolver, within [`RESOLVE_TIMEOUT`].
pub(super) async fn system_resolver(host: String) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), 0))).await {
        Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(RESOLVE_TIMEOUT)
        )),
    }
}

/// Refuses the target unless every host of its URLs is loopback or in
/// `allowed`; `resolve` gives a name's addresses.
pub(super) async fn check<F, Fut>(
    target: &Target,
    allowed: &[HostPattern],
    resolve: F,
) -> Result<(), RunError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<Vec<IpAddr>, String>>,
{
    for (key, host) in target_hosts(target) {
        let host = match host {
            Ok(host) => host,
            Err(e) => {
                return Err(RunError::NotAllowed {
                    host: "(no host)".into(),
                    key,
                    why: Why::Unresolved(e),
                })
            }
        };
        let addrs = if hosts::needs_resolution(&host, allowed) {
            Some(resolve(hosts::normalize(&host)).await)
        } else {
            None
        };
        hosts::check(&host, allowed, |_| {
            addrs.unwrap_or_else(|| Err("not resolved".into()))
        })
        .map_err(|why| RunError::NotAllowed {
            host: hosts::normalize(&host),
            key,
            why,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Secret;

    fn target(ws: &str, org: &str, part: &str) -> Target {
        Target {
            messenger_ws_url: ws.into(),
            organizer_api_url: org.into(),
            participant_api_url: part.into(),
            event_id: 1,
            organizer_email: "o{n}@x.test".into(),
            organizer_password: Secret::new("pw"),
        }
    }

    /// A resolver that knows a few names and panics on others.
    async fn dns(host: String) -> Result<Vec<IpAddr>, String> {
        let answer: &[&str] = match host.as_str() {
            "localhost" => &["127.0.0.1", "::1"],
            "split.test" => &["127.0.0.1", "198.51.100.4"],
            "staging.test" => &["10.1.2.3"],
            other => return Err(format!("unknown host {other}")),
        };
        Ok(answer.iter().map(|a| a.parse().unwrap()).collect())
    }

    fn refused(r: Result<(), RunError>) -> (String, &'static str, Why) {
        match r {
            Err(RunError::NotAllowed { host, key, why }) => (host, key, why),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn loopback_targets_pass_and_the_first_other_host_is_named_with_its_key() {
        let local = target("ws://127.0.0.1:1", "http://localhost:2", "http://[::1]:3");
        check(&local, &[], dns).await.unwrap();
        let t = target(
            "ws://127.0.0.1:1",
            "http://localhost:2",
            "https://staging.test/api",
        );
        let (host, key, why) = refused(check(&t, &[], dns).await);
        assert_eq!(
            (host.as_str(), key),
            ("staging.test", "participant_api_url")
        );
        assert_eq!(why, Why::ResolvesOutside("10.1.2.3".parse().unwrap()));
        let msg = RunError::NotAllowed { host, key, why }.to_string();
        assert!(msg.contains("`staging.test`"), "{msg}");
        assert!(msg.contains("target.participant_api_url"), "{msg}");
        assert!(msg.contains("target.allowed_hosts"), "{msg}");
        assert!(msg.contains("--allow-host staging.test"), "{msg}");
        assert!(RunError::NotAllowed {
            host: "h".into(),
            key: "messenger_ws_url",
            why: Why::NotListed
        }
        .is_config());
    }

    #[tokio::test]
    async fn a_name_with_one_address_outside_is_refused_unless_listed() {
        let t = target(
            "wss://split.test",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3",
        );
        let (host, key, _) = refused(check(&t, &[], dns).await);
        assert_eq!((host.as_str(), key), ("split.test", "messenger_ws_url"));
        let by_name = [HostPattern::parse_value("split.test").unwrap()];
        check(&t, &by_name, dns).await.unwrap();
        let by_block = [HostPattern::parse_value("198.51.100.0/24").unwrap()];
        check(&t, &by_block, dns).await.unwrap();
    }

    #[tokio::test]
    async fn addresses_are_matched_against_blocks_without_resolving() {
        let never = |h: String| async move { panic!("resolved {h}") };
        let t = target(
            "ws://10.0.0.7:8300",
            "http://[fd00::7]:8000",
            "http://10.0.0.8",
        );
        let allowed = [
            HostPattern::parse_value("10.0.0.0/28").unwrap(),
            HostPattern::parse_value("fd00::/8").unwrap(),
        ];
        check(&t, &allowed, never).await.unwrap();
        let (host, key, why) = refused(check(&t, &allowed[..1], never).await);
        assert_eq!((host.as_str(), key), ("fd00::7", "organizer_api_url"));
        assert_eq!(why, Why::NotListed);
    }

    #[tokio::test]
    async fn the_system_resolver_finds_localhost_loopback() {
        let addrs = system_resolver("localhost".into()).await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| hosts::is_loopback(*a)), "{addrs:?}");
    }
}
