//! The OpenID Connect I/O behind `signet`'s login: GitHub Actions ambient credentials, issuer
//! discovery, the authorization-code request (PKCE S256, state, nonce), the code exchange, the
//! RFC 8628 device flow, and the ID token check (JWKS signature, issuer, audience = client id,
//! nonce, expiry) through `openidconnect`'s verifier. Every request goes through the one
//! [`HttpClient`]. Tokens never appear in errors.

use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreDeviceAuthorizationResponse, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, CsrfToken,
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, HttpRequest, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::http::HttpClient;

/// What went wrong talking to an issuer or checking what it returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("OIDC discovery of {issuer} failed: {detail}")]
    Discovery { issuer: String, detail: String },
    #[error(
        "the issuer {issuer} does not offer the device flow (no device_authorization_endpoint)"
    )]
    NoDeviceEndpoint { issuer: String },
    #[error("{step} failed: {detail}")]
    Request { step: &'static str, detail: String },
    #[error("the device code was not approved within {secs} s (or it expired)")]
    DeviceExpired { secs: u64 },
    #[error("the issuer answered without an ID token")]
    NoIdToken,
    #[error("the ID token was rejected: {0}")]
    Rejected(String),
    #[error("GitHub Actions token request failed: {0}")]
    Actions(String),
}

/// Discovery metadata with the one extra field the device flow needs.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct DeviceEndpoint {
    device_authorization_endpoint: Option<DeviceAuthorizationUrl>,
}
impl AdditionalProviderMetadata for DeviceEndpoint {}

type Metadata = ProviderMetadata<
    DeviceEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The client `from_provider_metadata` returns (authorization endpoint set, token and userinfo
/// endpoints maybe).
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// [`Client`] with the device authorization endpoint set.
type DeviceClient = CoreClient<
    EndpointSet,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The error text of `e` and its sources, joined (no request bodies, so no secrets).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn token_error<RE, TE>(step: &'static str, e: RequestTokenError<RE, TE>) -> OidcError
where
    RE: std::error::Error + 'static,
    TE: openidconnect::ErrorResponse + 'static,
{
    let detail = match &e {
        RequestTokenError::ServerResponse(r) => r.to_string(),
        RequestTokenError::Parse(_, body) => {
            format!("unparsable response ({})", super::http::error_message(body))
        }
        _ => chain(&e),
    };
    OidcError::Request { step, detail }
}

/// Explains a failed ID token check in terms of what was expected.
fn rejected(e: &ClaimsVerificationError, issuer: &str, client_id: &str) -> OidcError {
    OidcError::Rejected(match e {
        ClaimsVerificationError::InvalidAudience(d) => {
            format!("its audience is not {client_id:?} ({d})")
        }
        ClaimsVerificationError::InvalidIssuer(d) => {
            format!("it was not issued by {issuer} ({d})")
        }
        ClaimsVerificationError::InvalidNonce(d) => format!("its nonce does not match ({d})"),
        ClaimsVerificationError::Expired(d) => format!("it has expired ({d})"),
        other => chain(other),
    })
}

/// GitHub Actions ambient credentials: GET `<request_url>&audience=<audience>` with the request
/// token as a bearer; the answer is `{"value": "<jwt>"}`.
pub async fn actions_token(
    http: &HttpClient,
    request_url: &str,
    request_token: &str,
    audience: &str,
) -> Result<Zeroizing<String>, OidcError> {
    #[derive(Deserialize)]
    struct Answer {
        value: String,
    }
    let mut url = openidconnect::url::Url::parse(request_url)
        .map_err(|e| OidcError::Actions(format!("ACTIONS_ID_TOKEN_REQUEST_URL: {e}")))?;
    url.query_pairs_mut().append_pair("audience", audience);
    let request = openidconnect::http::Request::get(url.as_str())
        .header("Authorization", format!("Bearer {request_token}"))
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(|e| OidcError::Actions(e.to_string()))?;
    let response = http
        .execute("GitHub Actions", request)
        .await
        .map_err(|e| OidcError::Actions(e.to_string()))?;
    let status = response.status();
    let body = Zeroizing::new(response.into_body());
    if status != 200 {
        return Err(OidcError::Actions(format!(
            "HTTP {}: {}",
            status.as_u16(),
            super::http::error_message(&body)
        )));
    }
    let answer: Answer = serde_json::from_slice(&body).map_err(|_| {
        OidcError::Actions("the answer is not JSON with a string \"value\" field".into())
    })?;
    Ok(Zeroizing::new(answer.value))
}

/// An authorization request in progress: the URL to open and what the answer is checked with.
pub struct AuthRequest {
    pub url: String,
    pub state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// A discovered issuer, with the client signet is to it.
pub struct Issuer {
    client: Client,
    issuer: String,
    client_id: String,
    device_endpoint: Option<DeviceAuthorizationUrl>,
}

impl Issuer {
    /// Fetches `<issuer>/.well-known/openid-configuration` and the JWKS it names.
    pub async fn discover(
        http: &HttpClient,
        issuer: &str,
        client_id: &str,
    ) -> Result<Self, OidcError> {
        let discovery = |detail: String| OidcError::Discovery {
            issuer: issuer.to_owned(),
            detail,
        };
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| discovery(e.to_string()))?;
        let call = |r: HttpRequest| http.execute("OIDC issuer", r);
        let metadata = Metadata::discover_async(url, &call)
            .await
            .map_err(|e| discovery(chain(&e)))?;
        let device_endpoint = metadata
            .additional_metadata()
            .device_authorization_endpoint
            .clone();
        let client =
            CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), None);
        Ok(Issuer {
            client,
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            device_endpoint,
        })
    }

    /// The authorization-code request: scopes `openid email`, PKCE S256, fresh state and nonce,
    /// and `connector_id` (Dex connector preselection) when given.
    pub fn authorization(
        &self,
        redirect_url: &str,
        connector_id: Option<&str>,
    ) -> Result<AuthRequest, OidcError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let redirect =
            RedirectUrl::new(redirect_url.to_owned()).map_err(|e| OidcError::Request {
                step: "building the authorization URL",
                detail: format!("redirect URL {redirect_url:?}: {e}"),
            })?;
        let client = self.client.clone().set_redirect_uri(redirect);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge);
        if let Some(id) = connector_id {
            request = request.add_extra_param("connector_id", id.to_owned());
        }
        let (url, state, nonce) = request.url();
        Ok(AuthRequest {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        })
    }

    /// Redeems `code` (with the PKCE verifier) and returns the checked ID token.
    pub async fn exchange_code(
        &self,
        http: &HttpClient,
        request: AuthRequest,
        redirect_url: &str,
        code: String,
    ) -> Result<Zeroizing<String>, OidcError> {
        let step = "the authorization code exchange";
        let redirect =
            RedirectUrl::new(redirect_url.to_owned()).map_err(|e| OidcError::Request {
                step,
                detail: e.to_string(),
            })?;
        let client = self.client.clone().set_redirect_uri(redirect);
        let call = |r: HttpRequest| http.execute("OIDC issuer", r);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Request {
                step,
                detail: e.to_string(),
            })?
            .set_pkce_verifier(request.verifier)
            .request_async(&call)
            .await
            .map_err(|e| token_error(step, e))?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        id_token
            .claims(&client.id_token_verifier(), &request.nonce)
            .map_err(|e| rejected(&e, &self.issuer, &self.client_id))?;
        Ok(Zeroizing::new(id_token.to_string()))
    }

    /// Starts the device flow: the user code and the URLs to show.
    /// The client with the issuer's device authorization endpoint, or why there is none.
    fn device_client(&self) -> Result<DeviceClient, OidcError> {
        let endpoint = self
            .device_endpoint
            .clone()
            .ok_or_else(|| OidcError::NoDeviceEndpoint {
                issuer: self.issuer.clone(),
            })?;
        Ok(self.client.clone().set_device_authorization_url(endpoint))
    }

    pub async fn device_start(
        &self,
        http: &HttpClient,
    ) -> Result<CoreDeviceAuthorizationResponse, OidcError> {
        let client = self.device_client()?;
        let call = |r: HttpRequest| http.execute("OIDC issuer", r);
        client
            .exchange_device_code()
            .add_scope(Scope::new("email".into()))
            .request_async(&call)
            .await
            .map_err(|e| token_error("the device authorization request", e))
    }

    /// Polls the token endpoint at the server's interval (honouring `slow_down`) until the user
    /// approves, the code expires or `timeout` passes; returns the checked ID token.
    pub async fn device_finish(
        &self,
        http: &HttpClient,
        details: &CoreDeviceAuthorizationResponse,
        timeout: Duration,
    ) -> Result<Zeroizing<String>, OidcError> {
        let step = "waiting for the device authorization";
        let client = self.device_client()?;
        let call = |r: HttpRequest| http.execute("OIDC issuer", r);
        let response = client
            .exchange_device_access_token(details)
            .map_err(|e| OidcError::Request {
                step,
                detail: e.to_string(),
            })?
            .request_async(&call, tokio::time::sleep, Some(timeout))
            .await
            .map_err(|e| match &e {
                RequestTokenError::ServerResponse(r)
                    if *r.error() == DeviceCodeErrorResponseType::ExpiredToken =>
                {
                    OidcError::DeviceExpired {
                        secs: timeout.as_secs(),
                    }
                }
                _ => token_error(step, e),
            })?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        // The device flow carries no nonce.
        id_token
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| rejected(&e, &self.issuer, &self.client_id))?;
        Ok(Zeroizing::new(id_token.to_string()))
    }
}
