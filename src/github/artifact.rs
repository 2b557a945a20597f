//! `baseline: artifact:<name>`: the newest unexpired artifact of that name
//! from a run on the default branch (what the nightly workflow uploads),
//! downloaded through the REST API's zip endpoint and unpacked into a
//! directory that `msgperf report --baseline` reads.
//!
//! The zip endpoint answers with a redirect to a short-lived signed URL; that
//! URL is fetched without the GitHub token (it is not GitHub's host).

use std::path::Path;

use http::Method;
use serde::Deserialize;

use super::{encode_query, GitHub, GitHubError};

#[derive(Debug, Deserialize)]
struct Artifacts {
    artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, Deserialize)]
struct Artifact {
    id: u64,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    workflow_run: Option<WorkflowRun>,
}

#[derive(Debug, Clone, Deserialize)]
struct WorkflowRun {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RepoInfo {
    default_branch: String,
}

/// Which artifact was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedArtifact {
    /// Its id.
    pub id: u64,
    /// Files unpacked.
    pub files: usize,
    /// The workflow run that uploaded it.
    pub run_id: Option<u64>,
    /// The commit that run tested.
    pub commit: Option<String>,
    /// When it was uploaded (RFC 3339).
    pub created_at: Option<String>,
}

impl GitHub {
    /// Downloads the newest unexpired artifact `name` of a default-branch run
    /// into `dir`; `Ok(None)` when there is none yet (first nightly).
    pub async fn fetch_artifact(
        &self,
        name: &str,
        dir: &Path,
    ) -> Result<Option<FetchedArtifact>, GitHubError> {
        let repo_path = self.repo.path();
        let info: RepoInfo = self
            .send(Method::GET, &repo_path, None)
            .await?
            .json(&repo_path)?;
        let path = format!(
            "{repo_path}/actions/artifacts?name={}&per_page=100",
            encode_query(name)
        );
        let list: Artifacts = self.send(Method::GET, &path, None).await?.json(&path)?;
        // The API lists newest first.
        let Some(artifact) = list.artifacts.into_iter().find(|a| {
            !a.expired
                && a.workflow_run
                    .as_ref()
                    .and_then(|r| r.head_branch.as_deref())
                    == Some(info.default_branch.as_str())
        }) else {
            return Ok(None);
        };
        let zip_path = format!("{repo_path}/actions/artifacts/{}/zip", artifact.id);
        let answer = self.send(Method::GET, &zip_path, None).await?;
        let bytes = if answer.status.is_redirection() {
            let location = answer
                .headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| decode(&zip_path, "a redirect without Location"))?;
            download(location)
                .await
                .map_err(|e| decode(&zip_path, &e))?
        } else {
            answer.body.to_vec()
        };
        let files = unzip(&bytes, dir).map_err(|e| decode(&zip_path, &e))?;
        let run = artifact.workflow_run.as_ref();
        Ok(Some(FetchedArtifact {
            id: artifact.id,
            files,
            run_id: run.and_then(|r| r.id),
            commit: run.and_then(|r| r.head_sha.clone()),
            created_at: artifact.created_at.clone(),
        }))
    }
}

fn decode(path: &str, message: &str) -> GitHubError {
    GitHubError::Decode {
        path: path.into(),
        message: message.into(),
    }
}

async fn download(url: &str) -> Result<Vec<u8>, String> {
    let response = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .map_err(|e| format!("downloading the artifact: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("downloading the artifact: {}", response.status()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("downloading the artifact: {e}"))?;
    Ok(bytes.to_vec())
}

/// Unpacks a zip archive into `dir` (entries escaping `dir` are refused by
/// the `zip` crate); returns the number of files.
pub fn unzip(bytes: &[u8], dir: &Path) -> Result<usize, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a zip archive: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    archive
        .extract(dir)
        .map_err(|e| format!("unpacking into {}: {e}", dir.display()))?;
    Ok((0..archive.len())
        .filter(|&i| archive.by_index(i).is_ok_and(|f| f.is_file()))
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn unzips_an_archive() {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            w.start_file("report.json", opts).unwrap();
            w.write_all(b"{}").unwrap();
            w.finish().unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unzip(buf.get_ref(), dir.path()).unwrap(), 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
            "{}"
        );
        assert!(unzip(b"nope", dir.path()).is_err());
    }
}
