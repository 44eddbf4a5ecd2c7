//! The OpenID Connect side of single sign-on, all through the `openidconnect` crate: discovery
//! (kept per provider for an hour, and its keys fetched again when a token names a key id that is
//! not among them), the authorization URL with PKCE, state and nonce, the code exchange, and the
//! ID token's verification (signature, issuer, audience, expiry with a small clock skew, nonce).
//! No JWT is read by hand here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    JsonWebKeySet, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::model::{Claim, Failure, IdentityProvider, CLOCK_SKEW_SECONDS};

/// How long a provider's discovery document and keys are used before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The claims beyond the standard ones that the service reads: the provider's session id and the
/// HSA-id of SITHS providers.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsa_id: Option<String>,
}

impl AdditionalClaims for ExtraClaims {}

type IdFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Discovery documents with their keys, per provider, and the HTTP client that fetches them:
/// this process's own (app data, registered in `startup`).
pub struct MetadataCache {
    held: Mutex<HashMap<String, (Instant, ProviderMetadataWithLogout)>>,
    http: reqwest::Client,
}

impl Default for MetadataCache {
    fn default() -> Self {
        Self {
            held: Mutex::default(),
            http: http_client(),
        }
    }
}

/// An HTTP client as the crate wants it: no redirects followed (a provider's address could
/// otherwise send the service's requests elsewhere), and a short timeout.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// What a sign-in sent to a provider must remember until the answer.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the provider says signed in.
#[derive(Clone, Debug)]
pub struct Person {
    pub subject: String,
    /// The value of the provider's chosen claim, if the token carries it.
    pub claim_value: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub sid: Option<String>,
    /// The person's name, if the provider gives it (used only for a reporter account it creates).
    pub name: Option<String>,
}

impl MetadataCache {
    async fn metadata(
        &self,
        provider: &IdentityProvider,
        fresh: bool,
    ) -> Result<ProviderMetadataWithLogout, Failure> {
        if !fresh {
            let held = self
                .held
                .lock()
                .expect("cache lock")
                .get(&provider.id)
                .cloned();
            if let Some((at, metadata)) = held {
                if at.elapsed() < METADATA_TTL && metadata.issuer().as_str() == provider.issuer {
                    return Ok(metadata);
                }
            }
        }
        let issuer =
            IssuerUrl::new(provider.issuer.clone()).map_err(|_| Failure::DiscoveryInvalid)?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                use openidconnect::DiscoveryError as D;
                tracing::warn!(provider = %provider.id, error = %e, "single sign-on: discovery failed");
                match e {
                    D::Request(_) => Failure::ProviderDown,
                    D::Response(status, ..) if status.is_server_error() => Failure::ProviderDown,
                    _ => Failure::DiscoveryInvalid,
                }
            })?;
        self.held
            .lock()
            .expect("cache lock")
            .insert(provider.id.clone(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Fetches the provider's keys again (a token named a key id not among those held).
    async fn refresh_keys(
        &self,
        provider: &IdentityProvider,
    ) -> Result<ProviderMetadataWithLogout, Failure> {
        let mut metadata = self.metadata(provider, false).await?;
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.id, error = %e, "single sign-on: keys could not be fetched");
                Failure::ProviderDown
            })?;
        metadata = metadata.set_jwks(jwks);
        self.held
            .lock()
            .expect("cache lock")
            .insert(provider.id.clone(), (Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// The provider's end-session address with the client and where to come back, if the provider
    /// has one (RP-initiated logout).
    pub async fn end_session_url(
        &self,
        provider: &IdentityProvider,
        back_to: &str,
    ) -> Option<String> {
        let metadata = self.metadata(provider, false).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request =
            LogoutRequest::from(endpoint).set_client_id(ClientId::new(provider.client_id.clone()));
        if let Ok(back) = PostLogoutRedirectUrl::new(back_to.to_string()) {
            request = request.set_post_logout_redirect_uri(back);
        }
        Some(request.http_get_url().to_string())
    }

    /// The address to send the browser to, with a new state, nonce and PKCE verifier.
    pub async fn start(
        &self,
        provider: &IdentityProvider,
        redirect_uri: &str,
    ) -> Result<Started, Failure> {
        let client = new_client(
            provider,
            self.metadata(provider, false).await?,
            redirect_uri,
        )?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes(provider) {
            request = request.add_scope(Scope::new(scope.into()));
        }
        let (url, state, nonce) = request.url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code and checks the ID token; the keys are fetched again once if the token
    /// names a key the service does not hold.
    pub async fn finish(
        &self,
        provider: &IdentityProvider,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Person, Failure> {
        let metadata = self.metadata(provider, false).await?;
        let client = new_client(provider, metadata, redirect_uri)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| Failure::DiscoveryInvalid)?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.id, error = %e, "single sign-on: code exchange failed");
                match e {
                    RequestTokenError::ServerResponse(r)
                        if *r.error() == CoreErrorResponseType::InvalidGrant =>
                    {
                        Failure::CodeRefused
                    }
                    RequestTokenError::ServerResponse(_) => Failure::ProviderRefused,
                    RequestTokenError::Request(_) => Failure::ProviderDown,
                    _ => Failure::TokenInvalid,
                }
            })?;
        let id_token = tokens.id_token().ok_or(Failure::TokenInvalid)?;
        let nonce = Nonce::new(nonce.to_string());
        let verified = {
            let verifier = verifier(&client);
            id_token
                .claims(&verifier, &nonce)
                .map(|c| person(provider, c))
        };
        match verified {
            Ok(person) => Ok(person),
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => {
                let metadata = self.refresh_keys(provider).await?;
                let client = new_client(provider, metadata, redirect_uri)?;
                let verifier = verifier(&client);
                id_token
                    .claims(&verifier, &nonce)
                    .map(|c| person(provider, c))
                    .map_err(|e| failure(provider, &e))
            }
            Err(e) => Err(failure(provider, &e)),
        }
    }
}

fn scopes(provider: &IdentityProvider) -> Vec<&'static str> {
    match provider.claim() {
        Claim::Email => vec!["email"],
        Claim::HsaId => vec!["hsa"],
        Claim::Sub => vec![],
    }
}

fn new_client(
    provider: &IdentityProvider,
    metadata: ProviderMetadataWithLogout,
    redirect_uri: &str,
) -> Result<OidcClient, Failure> {
    let secret = std::env::var(&provider.client_secret_env)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(Failure::SecretMissing)?;
    let redirect =
        RedirectUrl::new(redirect_uri.to_string()).map_err(|_| Failure::DiscoveryInvalid)?;
    Ok(OidcClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect))
}

/// The crate's verifier with the service's clock skew: a token counts as expired
/// [`CLOCK_SKEW_SECONDS`] after its `exp`, and one issued more than that in the future is refused.
fn verifier(client: &OidcClient) -> openidconnect::IdTokenVerifier<'_, CoreJsonWebKey> {
    let skew = chrono::TimeDelta::seconds(CLOCK_SKEW_SECONDS);
    client
        .id_token_verifier()
        .set_time_fn(move || chrono::Utc::now() - skew)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > chrono::Utc::now() + skew {
                Err(format!("not yet valid: issued at {iat}"))
            } else {
                Ok(())
            }
        })
}

fn person(
    provider: &IdentityProvider,
    claims: &openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>,
) -> Person {
    let subject = claims.subject().to_string();
    let claim_value = match provider.claim() {
        // An address the provider has not verified names nobody: anyone may type any address
        // into some providers' profiles.
        Claim::Email if claims.email_verified() == Some(true) => {
            claims.email().map(|e| e.to_string())
        }
        Claim::Email => None,
        Claim::HsaId => claims.additional_claims().hsa_id.clone(),
        Claim::Sub => Some(subject.clone()),
    };
    Person {
        subject,
        claim_value,
        acr: claims.auth_context_ref().map(|a| a.to_string()),
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
        sid: claims.additional_claims().sid.clone(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
    }
}

fn failure(provider: &IdentityProvider, e: &openidconnect::ClaimsVerificationError) -> Failure {
    use openidconnect::ClaimsVerificationError as C;
    tracing::warn!(provider = %provider.id, error = %e, "single sign-on: ID token refused");
    match e {
        C::Expired(m) if m.starts_with("not yet valid") => Failure::NotYetValid,
        C::Expired(_) => Failure::Expired,
        C::InvalidAudience(_) => Failure::WrongAudience,
        C::InvalidIssuer(_) => Failure::WrongIssuer,
        C::InvalidNonce(_) => Failure::NonceMismatch,
        C::SignatureVerification(_) => Failure::BadSignature,
        _ => Failure::TokenInvalid,
    }
}
