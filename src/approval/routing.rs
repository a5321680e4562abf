//! Which policy applies to a document, and what approval links look like: built once from the
//! settings, handed to the `approve` stage and the scheduler.

use super::policy::{ApprovalPolicy, Lang};

/// Where links point and how long they last.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// `web.public_url` without a trailing slash.
    pub public_url: String,
    pub valid_days: u32,
    pub default_lang: Lang,
    /// A document larger than this is not attached to the mail.
    pub max_attachment_bytes: u64,
}

impl LinkSettings {
    /// The two decision links of a token.
    pub fn links(&self, token: &str) -> (String, String) {
        let base = format!("{}/approval/{token}", self.public_url);
        (format!("{base}/approve"), format!("{base}/reject"))
    }
}

/// The policies of every pipeline, by the sources they hold.
#[derive(Debug, Clone)]
pub struct Routing {
    pipelines: Vec<(Vec<String>, ApprovalPolicy)>,
    pub links: LinkSettings,
}

impl Routing {
    /// `pipelines`: each pipeline's source names with its policy, in load order.
    pub fn new(pipelines: Vec<(Vec<String>, ApprovalPolicy)>, links: LinkSettings) -> Routing {
        Routing { pipelines, links }
    }

    /// The policy of the pipeline holding `source`; for documents from elsewhere (`facteur
    /// ingest`), the first pipeline that has rules.
    pub fn policy_for(&self, source: &str) -> Option<&ApprovalPolicy> {
        self.pipelines
            .iter()
            .find(|(sources, _)| sources.iter().any(|s| s == source))
            .or_else(|| self.pipelines.iter().find(|(_, p)| !p.rules.is_empty()))
            .map(|(_, p)| p)
    }
}
