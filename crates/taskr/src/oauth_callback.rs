//! What an OAuth 2.0 authorization server sends back to Taskr's redirect URI (RFC 6749,
//! section 4.1.2): the Attio link and the connections' OAuth flows both read it.

/// The callback's query parameters; each may be missing, and the flows say what that means.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}
