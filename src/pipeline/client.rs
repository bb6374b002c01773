//! The FIT-Connect subscriber client as the pipeline's [`DeliveryService`].

use super::run::{DeliveryError, DeliveryService, Listed, Posted};
use crate::fitconnect::captured::CapturedSubmission;
use crate::fitconnect::client::{Client, ClientError, SpooledDownload};

/// The HTTP client bound to one destination.
#[derive(Debug)]
pub struct ClientDelivery {
    /// The client (token cache, retries, limits).
    pub client: Client,
    /// The destination whose submissions are listed.
    pub destination_id: String,
}

fn err(e: &ClientError) -> DeliveryError {
    // ClientError's text names the request and status, never payload data.
    DeliveryError(e.to_string())
}

impl DeliveryService for ClientDelivery {
    async fn list(&self) -> Result<Vec<Listed>, DeliveryError> {
        let items = self
            .client
            .list_all_submissions(&self.destination_id)
            .await
            .map_err(|e| err(&e))?;
        Ok(items
            .into_iter()
            .map(|i| Listed {
                submission_id: i.submission_id,
                case_id: i.case_id,
            })
            .collect())
    }

    async fn download(&self, submission_id: &str) -> Result<CapturedSubmission, DeliveryError> {
        self.client
            .download(submission_id)
            .await
            .map_err(|e| err(&e))
    }

    async fn download_spooled(
        &self,
        submission_id: &str,
        spool_dir: &std::path::Path,
    ) -> Result<SpooledDownload, DeliveryError> {
        self.client
            .download_spooled(submission_id, spool_dir)
            .await
            .map_err(|e| err(&e))
    }

    async fn post_event(&self, case_id: &str, set_token: &str) -> Result<Posted, DeliveryError> {
        match self.client.post_event(case_id, set_token).await {
            Ok(()) => Ok(Posted::Accepted),
            // The submission is no longer in a state that takes a decision: an earlier run
            // posted it before it could record that (crash between post and mark).
            Err(e) if e.status() == Some(409) => Ok(Posted::AlreadyDecided),
            Err(e) => Err(err(&e)),
        }
    }
}
