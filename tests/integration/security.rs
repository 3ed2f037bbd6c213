//! Who may talk to the service: TLS, mutual TLS and the bearer token, over a real socket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::{serve_with_service, ServerOptions, TlsPaths};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::service::{client, SERVICE_NAME};
use crate::support::{assert_valid, default_service, sample, TestServer};

/// PEM files for a test CA, a server certificate for localhost / 127.0.0.1, a client certificate
/// signed by the CA, and a client certificate from an unrelated CA.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn generate() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
            KeyPair, KeyUsagePurpose, SanType,
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        let ca = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
        };
        let leaf = |issuer: &CertifiedIssuer<'static, KeyPair>, client: bool| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            params.extended_key_usages = vec![if client {
                ExtendedKeyUsagePurpose::ClientAuth
            } else {
                ExtendedKeyUsagePurpose::ServerAuth
            }];
            let cert = params.signed_by(&key, &**issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let trusted = ca("theatre-optimiser test CA");
        let other = ca("unrelated CA");
        write("ca.pem", trusted.pem());
        write("other-ca.pem", other.pem());
        let (cert, key) = leaf(&trusted, false);
        write("server.pem", cert);
        write("server.key", key);
        let (cert, key) = leaf(&trusted, true);
        write("client.pem", cert);
        write("client.key", key);
        let (cert, key) = leaf(&other, true);
        write("rogue.pem", cert);
        write("rogue.key", key);
        Pki { dir }
    }

    fn server_tls(&self, mutual: bool) -> TlsPaths {
        TlsPaths {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: mutual.then(|| self.path("ca.pem")),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Connects over TLS (trusting `ca`, optionally presenting `identity`) and plans the sample with
/// the baseline planner; the error says which step failed.
async fn plan_over_tls(
    addr: SocketAddr,
    ca: &str,
    identity: Option<(String, String)>,
    token: Option<&str>,
) -> Result<pb::ProposeAllocationsResponse, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| format!("tls config: {e}"))?
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut client = TheatreOptimiserClient::new(channel);
    let mut request = sample();
    request.planner = pb::Planner::Baseline as i32;
    let mut request = tonic::Request::new(request);
    request.set_timeout(Duration::from_secs(30));
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    client
        .propose_allocations(request)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| format!("call: {:?} {}", s.code(), s.message()))
}

async fn plan_in_plaintext(addr: SocketAddr) -> Result<(), String> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let mut request = tonic::Request::new(sample());
    request.set_timeout(Duration::from_secs(30));
    TheatreOptimiserClient::new(channel)
        .propose_allocations(request)
        .await
        .map(|_| ())
        .map_err(|s| format!("call: {:?}", s.code()))
}

#[tokio::test]
async fn tls_serves_trusting_clients_and_refuses_plaintext_and_strangers() {
    let pki = Pki::generate();
    let options = ServerOptions {
        tls: Some(pki.server_tls(false)),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let plan = plan_over_tls(server.addr, &pki.read("ca.pem"), None, None)
        .await
        .expect("a TLS client that trusts the CA is served");
    assert_eq!(plan.planner, pb::Planner::Baseline as i32);
    // A client that does not trust the server's CA refuses the server.
    let err = plan_over_tls(server.addr, &pki.read("other-ca.pem"), None, None)
        .await
        .expect_err("an untrusted server certificate");
    eprintln!("untrusted CA: {err}");
    // A plaintext client gets nowhere with a TLS server.
    let err = plan_in_plaintext(server.addr)
        .await
        .expect_err("plaintext refused by a TLS server");
    eprintln!("plaintext to TLS: {err}");
    assert_eq!(server.metrics.requests.get(), 1);
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_configured_ca() {
    let pki = Pki::generate();
    let options = ServerOptions {
        tls: Some(pki.server_tls(true)),
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let ca = pki.read("ca.pem");
    let client_id = (pki.read("client.pem"), pki.read("client.key"));
    let rogue_id = (pki.read("rogue.pem"), pki.read("rogue.key"));

    let plan = plan_over_tls(server.addr, &ca, Some(client_id.clone()), Some("s3cret"))
        .await
        .expect("a client with a certificate from the CA and the token is served");
    assert_valid(&sample(), &plan);
    let err = plan_over_tls(server.addr, &ca, None, Some("s3cret"))
        .await
        .expect_err("no client certificate under mutual TLS");
    eprintln!("no client certificate: {err}");
    let err = plan_over_tls(server.addr, &ca, Some(rogue_id), Some("s3cret"))
        .await
        .expect_err("a client certificate from another CA");
    eprintln!("client certificate from another CA: {err}");
    // The certificate does not stand in for the token.
    let err = plan_over_tls(server.addr, &ca, Some(client_id), None)
        .await
        .expect_err("the token is still required");
    assert!(err.contains("Unauthenticated"), "{err}");
    assert!(plan_in_plaintext(server.addr).await.is_err());
    assert_eq!(server.metrics.requests.get(), 1);
}

#[tokio::test]
async fn the_token_guards_every_planning_rpc_but_not_health() {
    let options = ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let status = client
        .propose_allocations_stream(sample())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let compare = pb::CompareScenariosRequest {
        base: Some(sample()),
        scenarios: Vec::new(),
    };
    let status = client.compare_scenarios(compare).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // "Bearer" with another case or a prefix of the token is not accepted.
    for wrong in ["bearer s3cret", "Bearer s3cre", "Bearer s3cret ", "s3cret"] {
        let mut request = tonic::Request::new(sample());
        request
            .metadata_mut()
            .insert("authorization", wrong.parse().unwrap());
        let status = client.propose_allocations(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{wrong:?}");
    }
    assert_eq!(server.metrics.requests.get(), 0);
    // Probes need no token.
    let mut health = HealthClient::new(
        Channel::from_shared(server.channel_url())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let reply = health
        .check(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status, 1, "SERVING");
}

/// Serves `options` on every address (not loopback), port 0: the port, the server's task and the
/// sender that stops it.
async fn serve_off_loopback(
    options: ServerOptions,
) -> (
    SocketAddr,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(!listener.local_addr().unwrap().ip().is_loopback());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = default_service(&options);
    let task = tokio::spawn(serve_with_service(listener, options, service, async {
        let _ = stopped.await;
    }));
    (SocketAddr::from((Ipv4Addr::LOCALHOST, port)), task, stop)
}

/// Plaintext off loopback is refused at start-up, with or without a bearer token (a token does
/// not stand in for TLS); TLS, or `allow_plaintext` (a mesh terminates TLS), lets it serve.
#[tokio::test]
async fn plaintext_off_loopback_is_refused_unless_tls_or_allowed() {
    for token in [None, Some("s3cret".to_string())] {
        let options = ServerOptions {
            token: token.clone(),
            ..ServerOptions::default()
        };
        let (_, task, _stop) = serve_off_loopback(options).await;
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("start-up refused at once")
            .unwrap();
        let err = outcome.expect_err("plaintext served off loopback");
        assert!(err.to_string().contains("refusing plaintext"), "{token:?}: {err}");
    }
    let allowed = ServerOptions {
        allow_plaintext: true,
        ..ServerOptions::default()
    };
    let (addr, task, stop) = serve_off_loopback(allowed).await;
    plan_in_plaintext(addr).await.expect("plaintext allowed");
    let _ = stop.send(());
    task.await.unwrap().expect("a clean shutdown");
    let pki = Pki::generate();
    let tls = ServerOptions {
        tls: Some(pki.server_tls(false)),
        ..ServerOptions::default()
    };
    let (addr, task, stop) = serve_off_loopback(tls).await;
    plan_over_tls(addr, &pki.read("ca.pem"), None, None)
        .await
        .expect("TLS served off loopback");
    let _ = stop.send(());
    task.await.unwrap().expect("a clean shutdown");
}
