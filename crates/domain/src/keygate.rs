//! The composition root: every service of Keygate built in the right order from one store's
//! repositories, the crypto adapters, a schema validator, a clock and the settings. The HTTP
//! server, the operator commands and any program embedding Keygate's rules start here.

use std::sync::Arc;

use crate::accounts::PasswordHasher;
use crate::accounts::{AccountPorts, AccountService, LoginThrottle, PasswordVerifier};
use crate::apis::records::RecordService;
use crate::apis::{ApiPorts, ApiService, ApiServices, ApiSettings, IndexBuilder};
use crate::audit::{AuditEraser, AuditService, AuditTrail};
use crate::clock::Clock;
use crate::crypto::{SecretGenerator, TokenIssuer, TokenVerifier};
use crate::data::DataService;
use crate::email_flows::{EmailFlowPorts, EmailFlowService};
use crate::import::{ContentImportService, HashInspector, ImportService, Migration};
use crate::introspection::{IntrospectionPorts, TokenIntrospector};
use crate::mail::{MailService, Mailer, Templates};
use crate::mfa::{
    FactorEraser, OtpGenerator, PasskeyCeremonies, PasskeyPorts, PasskeyService, SecondFactorPorts,
    SecondFactorService,
};
use crate::one_time::Purger;
use crate::schema::SchemaValidator;
use crate::sessions::{Authenticator, SessionService};
use crate::settings::KeygateSettings;
use crate::signing::{SigningKeyGenerator, SigningKeyService, TokenKeyInstaller};
use crate::store::Repositories;
use crate::usage::Quota;

/// What Keygate's crypto adapters provide (`keygate-crypto` implements every one).
#[derive(Clone)]
pub struct CryptoPorts {
    /// Hashes and checks passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Signs access tokens.
    pub issuer: Arc<dyn TokenIssuer>,
    /// Checks access tokens.
    pub verifier: Arc<dyn TokenVerifier>,
    /// Makes refresh-token and API-key secrets, and their digests.
    pub secrets: Arc<dyn SecretGenerator>,
    /// Makes signing key pairs.
    pub key_generator: Arc<dyn SigningKeyGenerator>,
    /// The token adapter's side of key rotation (the same adapter as `issuer` and `verifier`).
    pub key_installer: Arc<dyn TokenKeyInstaller>,
    /// TOTP codes and recovery codes (§9).
    pub otp: Arc<dyn OtpGenerator>,
    /// Passkey (WebAuthn) ceremonies (§9).
    pub passkeys: Arc<dyn PasskeyCeremonies>,
    /// Reads the earlier systems' password hashes (§10).
    pub legacy_hashes: Arc<dyn HashInspector>,
}

/// What mail needs besides the store: the sender and the messages (§8).
#[derive(Clone)]
pub struct MailPorts {
    /// Sends a message (SMTP, or `.eml` files).
    pub mailer: Arc<dyn Mailer>,
    /// The messages' templates.
    pub templates: Arc<Templates>,
}

/// Every service of Keygate, wired.
pub struct Keygate {
    /// Accounts: register, log in, profiles, passwords, deletion.
    pub accounts: Arc<AccountService>,
    /// TOTP and recovery codes, and the login's second step (§9).
    pub second_factor: Arc<SecondFactorService>,
    /// Passkeys (§9).
    pub passkeys: Arc<PasskeyService>,
    /// Verification links, password reset and login codes (§8).
    pub email_flows: Arc<EmailFlowService>,
    /// Checks access tokens (what every authenticated request needs).
    pub authenticator: Arc<Authenticator>,
    /// Refresh and logout.
    pub sessions: Arc<SessionService>,
    /// Private key-value data.
    pub data: Arc<DataService>,
    /// User-defined APIs and their keys.
    pub apis: Arc<ApiService>,
    /// Records of those APIs.
    pub records: Arc<RecordService>,
    /// Index builds (§11), run by the server's maintenance task.
    pub indexes: Arc<IndexBuilder>,
    /// Failed-login throttling (its refusals are a metric).
    pub throttle: Arc<LoginThrottle>,
    /// The outbox and its delivery (§8), run by the server's upkeep.
    pub mail: Arc<MailService>,
    /// Removes expired links, codes and ceremonies, run by the server's upkeep.
    pub one_time_purger: Arc<Purger>,
    /// `keygate import` (§10): the earlier systems' accounts and what they kept.
    pub migration: Arc<Migration>,
    /// `POST /token/introspect`: what an access token or API key is.
    pub introspection: Arc<TokenIntrospector>,
    /// Signing keys: made, rotated and published (§7); refreshed by the server's upkeep.
    pub signing: Arc<SigningKeyService>,
    /// The audit log (§13): read, exported and purged.
    pub audit: Arc<AuditService>,
    /// Where every service records its security events (its refusals of unknown accounts
    /// are a metric).
    pub audit_trail: Arc<AuditTrail>,
    /// The schema validator the API forms compile their schemas with
    /// ([`crate::apis::NewApi::parse`], [`crate::apis::ApiChanges::parse`]).
    pub schemas: Arc<dyn SchemaValidator>,
}

impl Keygate {
    /// Builds every service over `repositories`.
    pub fn new(
        repositories: Repositories,
        crypto: CryptoPorts,
        schemas: Arc<dyn SchemaValidator>,
        clock: Arc<dyn Clock>,
        settings: KeygateSettings,
        mail_ports: MailPorts,
    ) -> Self {
        let audit_trail = Arc::new(AuditTrail::new(repositories.audit.clone(), clock.clone()));
        let audit = Arc::new(AuditService::new(
            repositories.audit.clone(),
            repositories.users.clone(),
            clock.clone(),
            settings.audit,
        ));
        let mail = Arc::new(MailService::new(
            repositories.outbox.clone(),
            mail_ports.mailer,
            mail_ports.templates,
            clock.clone(),
            settings.mail,
        ));
        let signing = Arc::new(SigningKeyService::new(
            repositories.signing_keys.clone(),
            (crypto.key_generator, crypto.key_installer),
            clock.clone(),
            settings.signing,
            settings.sessions.access_token_ttl,
            audit_trail.clone(),
        ));
        let introspection = Arc::new(TokenIntrospector::new(IntrospectionPorts {
            verifier: crypto.verifier.clone(),
            sessions: repositories.sessions.clone(),
            keys: repositories.api_keys.clone(),
            apis: repositories.apis.clone(),
            secrets: crypto.secrets.clone(),
            clock: clock.clone(),
        }));
        let authenticator = Arc::new(Authenticator::new(
            repositories.sessions.clone(),
            crypto.verifier,
            clock.clone(),
            settings.sessions,
        ));
        let sessions = Arc::new(SessionService::new(
            authenticator.clone(),
            crypto.issuer,
            crypto.secrets.clone(),
            audit_trail.clone(),
        ));
        let quota = Quota::new(repositories.usage.clone(), settings.limits.usage);
        let data = Arc::new(DataService::new(
            repositories.data.clone(),
            clock.clone(),
            quota.clone(),
        ));
        let api_ports = ApiPorts {
            apis: repositories.apis.clone(),
            keys: repositories.api_keys.clone(),
            records: repositories.records.clone(),
            schemas: schemas.clone(),
            secrets: crypto.secrets.clone(),
            clock: clock.clone(),
            quota: quota.clone(),
            audit: audit_trail.clone(),
        };
        let migration = Arc::new(Migration::new(
            ImportService::new(
                repositories.users.clone(),
                crypto.legacy_hashes,
                clock.clone(),
                audit_trail.clone(),
            ),
            ContentImportService::new(
                api_ports.clone(),
                repositories.data.clone(),
                repositories.users.clone(),
            ),
            crypto.secrets.clone(),
        ));
        let ApiServices {
            apis,
            records,
            indexes,
        } = ApiServices::new(
            api_ports,
            ApiSettings {
                revocation_cache_ttl: settings.sessions.liveness_cache_ttl,
                max_keys_per_api: settings.limits.max_keys_per_api,
                records: settings.records,
            },
        );
        // Instances sharing a store count together (§12); a lone one counts in memory.
        let throttle = Arc::new(match &repositories.shared_throttle {
            Some(counters) => {
                LoginThrottle::shared(settings.throttle, counters.clone(), crypto.secrets.clone())
            }
            None => LoginThrottle::new(settings.throttle),
        });
        let reauthentication = Arc::new(
            PasswordVerifier::new(
                repositories.users.clone(),
                crypto.hasher.clone(),
                throttle.clone(),
                clock.clone(),
            )
            .with_reauthentication_window(settings.sessions.reauth_window),
        );
        let second_factor = Arc::new(SecondFactorService::new(
            SecondFactorPorts {
                factors: repositories.factors.clone(),
                otp: crypto.otp,
                users: repositories.users.clone(),
                accounts: reauthentication.clone(),
                sessions: sessions.clone(),
                one_time: repositories.one_time.clone(),
                secrets: crypto.secrets.clone(),
                clock: clock.clone(),
                audit: audit_trail.clone(),
            },
            throttle.clone(),
            settings.mfa,
        ));
        let passkeys = Arc::new(PasskeyService::new(
            PasskeyPorts {
                ceremonies: crypto.passkeys,
                factors: repositories.factors.clone(),
                users: repositories.users.clone(),
                accounts: reauthentication,
                sessions: sessions.clone(),
                one_time: repositories.one_time.clone(),
                secrets: crypto.secrets.clone(),
                clock: clock.clone(),
                audit: audit_trail.clone(),
            },
            throttle.clone(),
            settings.email_flows.require_verified_email,
        ));
        let require_verified_email = settings.email_flows.require_verified_email;
        let email_flows = Arc::new(EmailFlowService::new(
            EmailFlowPorts {
                users: repositories.users.clone(),
                hasher: crypto.hasher.clone(),
                sessions: sessions.clone(),
                second_step: second_factor.clone(),
                one_time: repositories.one_time.clone(),
                factors: repositories.factors.clone(),
                secrets: crypto.secrets.clone(),
                mail: mail.clone(),
                clock: clock.clone(),
                audit: audit_trail.clone(),
            },
            throttle.clone(),
            settings.email_flows,
        ));
        let one_time_purger = Arc::new(Purger::new(repositories.one_time.clone(), clock.clone()));
        let accounts = AccountService::new(
            AccountPorts {
                users: repositories.users,
                hasher: crypto.hasher,
                sessions: sessions.clone(),
                second_step: second_factor.clone(),
                mail: email_flows.clone(),
                clock,
                audit: audit_trail.clone(),
            },
            throttle.clone(),
            require_verified_email,
        )
        .with_reauthentication_window(settings.sessions.reauth_window)
        // Deleting an account erases its data, then its APIs (their records and keys with
        // them), and last its usage totals: erasing the others gives room back, which would
        // otherwise recreate the totals.
        .erasing(data.clone())
        .erasing(apis.clone())
        .erasing(Arc::new(FactorEraser(repositories.factors.clone())))
        .erasing(Arc::new(AuditEraser::new(repositories.audit.clone())))
        .erasing(Arc::new(quota));
        Self {
            accounts: Arc::new(accounts),
            second_factor,
            passkeys,
            email_flows,
            authenticator,
            sessions,
            data,
            apis,
            records,
            indexes,
            throttle,
            mail,
            one_time_purger,
            migration,
            introspection,
            signing,
            audit,
            audit_trail,
            schemas,
        }
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;
    use mockall::Sequence;

    use super::*;
    use crate::accounts::{
        DeletionForm, MockPasswordHasher, MockUserRepository, PasswordCheck, User,
    };
    use crate::apis::records::MockRecordRepository;
    use crate::apis::{MockApiKeyRepository, MockApiRepository};
    use crate::crypto::{MockSecretGenerator, MockTokenIssuer, MockTokenVerifier};
    use crate::data::MockDataRepository;
    use crate::mail::{MockMailer, MockOutbox};
    use crate::mfa::{MockOtpGenerator, MockSecondFactorRepository};
    use crate::one_time::MockOneTimeSecretRepository;
    use crate::schema::MockSchemaValidator;
    use crate::sessions::MockSessionRepository;
    use crate::signing::{
        MockSigningKeyGenerator, MockSigningKeyRepository, MockTokenKeyInstaller,
    };
    use crate::test_support::{fixed_clock, now, owner};
    use crate::usage::MockUsageRepository;

    fn account() -> User {
        User::new_account(
            owner().user_id,
            crate::accounts::AccountDetails {
                email: Some(crate::accounts::Email::new("a@example.com").expect("valid")),
                ..crate::accounts::AccountDetails::default()
            },
            "hash".into(),
            now(),
        )
    }

    /// Deleting an account through the wired services marks it, ends its other sessions,
    /// erases its data, then its APIs, then its usage totals (which the erasures above give
    /// room back to), then its sessions and the account itself: the order `Keygate::new`
    /// wires, checked against every port.
    #[tokio::test]
    async fn deleting_an_account_erases_in_the_order_the_root_wires() {
        let user = owner().user_id;
        let mut order = Sequence::new();
        let (mut users, mut sessions) = (MockUserRepository::new(), MockSessionRepository::new());
        let (mut data, mut apis) = (MockDataRepository::new(), MockApiRepository::new());
        let mut usage = MockUsageRepository::new();
        let mut hasher = MockPasswordHasher::new();
        users.expect_find_by_id().returning(|_| Ok(Some(account())));
        hasher.expect_verify().returning(|_, _| {
            Ok(PasswordCheck {
                matches: true,
                needs_rehash: false,
            })
        });
        users
            .expect_update()
            .withf(|u, read| u.deleting && *read == 1)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(true));
        sessions
            .expect_revoke_all_for_user()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(()));
        data.expect_delete_all_for_user()
            .with(eq(user.clone()))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        apis.expect_list_for_owner()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(vec![]));
        let mut factors = MockSecondFactorRepository::new();
        factors
            .expect_delete_factors()
            .with(eq(user.clone()))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        usage
            .expect_forget()
            .with(eq(user.clone()))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        sessions
            .expect_delete_all_for_user()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(()));
        users
            .expect_delete()
            .with(eq(user))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(true));
        let repositories = Repositories {
            users: Arc::new(users),
            sessions: Arc::new(sessions),
            data: Arc::new(data),
            apis: Arc::new(apis),
            api_keys: Arc::new(MockApiKeyRepository::new()),
            records: Arc::new(MockRecordRepository::new()),
            usage: Arc::new(usage),
            signing_keys: Arc::new(MockSigningKeyRepository::new()),
            one_time: Arc::new(MockOneTimeSecretRepository::new()),
            outbox: Arc::new(MockOutbox::new()),
            factors: Arc::new(factors),
            audit: Arc::new(crate::test_support::MemoryAudit::default()),
            shared_throttle: None,
        };
        let crypto = CryptoPorts {
            hasher: Arc::new(hasher),
            issuer: Arc::new(MockTokenIssuer::new()),
            verifier: Arc::new(MockTokenVerifier::new()),
            secrets: Arc::new(MockSecretGenerator::new()),
            key_generator: Arc::new(MockSigningKeyGenerator::new()),
            key_installer: Arc::new(MockTokenKeyInstaller::new()),
            otp: Arc::new(MockOtpGenerator::new()),
            passkeys: Arc::new(crate::mfa::MockPasskeyCeremonies::new()),
            legacy_hashes: Arc::new(crate::import::MockHashInspector::new()),
        };
        let keygate = Keygate::new(
            repositories,
            crypto,
            Arc::new(MockSchemaValidator::new()),
            Arc::new(fixed_clock()),
            KeygateSettings::default(),
            MailPorts {
                mailer: Arc::new(MockMailer::new()),
                templates: Arc::new(Templates::default()),
            },
        );
        let deletion = DeletionForm {
            password: Some("right".into()),
        }
        .parse();
        keygate
            .accounts
            .delete_account(&owner(), deletion, "10.0.0.1")
            .await
            .expect("deleted");
    }
}
