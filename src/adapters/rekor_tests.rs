//! Tests for the Rekor client: search against a real in-process teststack, and refusals
//! against a fake Rekor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use der::{Decode, EncodePem};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::*;
use crate::adapters::fulcio::FulcioClient;
use crate::core::keys::sha256;
use crate::core::merkle::leaf_hash;
use crate::core::token::IdentityToken;
use crate::flow::CertIssuer;

fn client(base: &str) -> RekorClient {
    RekorClient::new(
        HttpClient::with_timeout(Duration::from_secs(10)).unwrap(),
        base,
    )
}

/// A fresh key and the leaf certificate (PEM) the stack's Fulcio issues for it.
async fn certified_key(fulcio: &FulcioClient, token: &IdentityToken) -> (SigningKey, String) {
    let key = SigningKey::try_generate().unwrap();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let subject = token
        .claims()
        .unwrap()
        .challenge_subject()
        .unwrap()
        .to_owned();
    let proof: DerSignature = key.sign(subject.as_bytes());
    let chain = fulcio.issue(token, &pem, proof.as_bytes()).await.unwrap();
    let leaf = x509_cert::Certificate::from_der(&chain[0]).unwrap();
    (key, leaf.to_pem(der::pem::LineEnding::LF).unwrap())
}

/// Logs a hashedrekord over sha256(`commit_id`), as gitsign online mode does.
async fn log_commit_id(
    rekor: &RekorClient,
    key: &SigningKey,
    cert_pem: &str,
    commit_id: &str,
) -> TlogEntry {
    let digest = sha256(commit_id.as_bytes());
    let signature: Signature = key.sign_prehash(&digest).unwrap();
    let entry = HashedRekord::new(&digest, signature.to_der().as_bytes(), cert_pem);
    rekor.submit(&entry).await.unwrap()
}

/// What identifies an entry across answers (its proof changes as the tree grows).
fn ids(entries: &[TlogEntry]) -> BTreeSet<(i64, Vec<u8>)> {
    entries
        .iter()
        .map(|e| (e.log_index, e.body.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekor_search_returns_exactly_the_certificates_entries() {
    let dir = tempfile::tempdir().unwrap();
    let running = signet_teststack::start(signet_teststack::ServeOptions::new(
        dir.path().join("stack"),
    ))
    .await
    .unwrap();
    let token = IdentityToken::new(
        signet_teststack::mint_token(&running.state_dir, "alice@example.com", 600).unwrap(),
    )
    .unwrap();
    let http = HttpClient::with_timeout(Duration::from_secs(10)).unwrap();
    let fulcio = FulcioClient::new(http.clone(), &running.base_url);
    let rekor = RekorClient::new(http, &running.base_url);

    let (key_a, cert_a) = certified_key(&fulcio, &token).await;
    let (key_b, cert_b) = certified_key(&fulcio, &token).await;
    let (_, cert_c) = certified_key(&fulcio, &token).await;
    let a1 = log_commit_id(&rekor, &key_a, &cert_a, &"1".repeat(40)).await;
    let b1 = log_commit_id(&rekor, &key_b, &cert_b, &"1".repeat(40)).await;
    let a2 = log_commit_id(&rekor, &key_a, &cert_a, &"2".repeat(40)).await;

    let found_a = rekor.entries_for_certificate(&cert_a).await.unwrap();
    assert_eq!(found_a.len(), 2);
    assert_eq!(ids(&found_a), ids(&[a1, a2]));
    let found_b = rekor.entries_for_certificate(&cert_b).await.unwrap();
    assert_eq!(ids(&found_b), ids(&[b1]));
    assert_eq!(found_b.len(), 1);
    // A certificate that signed nothing has no entries.
    assert_eq!(rekor.entries_for_certificate(&cert_c).await.unwrap(), []);

    running.stop().await.unwrap();
}

// ---- A fake Rekor for the answers the test stack never gives. ----

type Answer = Box<dyn Fn(&str, &str) -> (u16, String) + Send + Sync>;
/// `(method path, body)` of every request a fake received, in order.
type RequestLog = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback HTTP server answering each request with `answer(method, path)`, one connection
/// at a time, `Connection: close`. Ready once `start` returns (the listener is bound);
/// `stop` ends it.
struct FakeRekor {
    url: String,
    requests: RequestLog,
    task: JoinHandle<()>,
}

impl FakeRekor {
    async fn start(answer: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> Self {
        let answer: Answer = Box::new(answer);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = RequestLog::default();
        let log = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mut reader = BufReader::new(stream);
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end().to_owned();
                    if line.is_empty() {
                        break;
                    }
                    head.push(line);
                }
                let len = head
                    .iter()
                    .find_map(|h| {
                        let (k, v) = h.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).await.is_err() {
                    continue;
                }
                let mut words = head.first().map(|l| l.split(' ')).into_iter().flatten();
                let method = words.next().unwrap_or_default().to_owned();
                let path = words.next().unwrap_or_default().to_owned();
                log.lock().unwrap().push((format!("{method} {path}"), body));
                let (status, text) = answer(&method, &path);
                let response = format!(
                    "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let mut stream = reader.into_inner();
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }

    fn requests(&self) -> Vec<String> {
        let log = self.requests.lock().unwrap();
        log.iter().map(|(line, _)| line.clone()).collect()
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

const INDEX: &str = "/api/v1/index/retrieve";
const ENTRIES: &str = "/api/v1/log/entries/";
const TREE_ID: &str = "0000000000000001";

/// A log entry body (JSON, as Rekor's are) numbered `n`.
fn body(n: usize) -> Vec<u8> {
    format!(r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"n":{n}}}}}"#).into_bytes()
}

fn uuid(body: &[u8]) -> String {
    hex::encode(leaf_hash(body))
}

/// A `GET /api/v1/log/entries/{uuid}` answer: `{key: LogEntry}` with `body`.
fn entry_answer(key: &str, body: &[u8]) -> String {
    serde_json::json!({ key: {
        "body": B64.encode(body),
        "integratedTime": 1_700_000_000,
        "logID": "ab".repeat(32),
        "logIndex": 7,
        "verification": {"signedEntryTimestamp": B64.encode(b"set")},
    }})
    .to_string()
}

fn index_answer(uuids: &[String]) -> (u16, String) {
    (200, serde_json::to_string(uuids).unwrap())
}

/// A Rekor whose index lists `listed` and which serves every body in `bodies` under its
/// 80-hex entry id, whichever form of its UUID is asked for.
async fn serving(listed: Vec<String>, bodies: Vec<Vec<u8>>) -> FakeRekor {
    FakeRekor::start(move |method, path| {
        if method == "POST" && path == INDEX {
            return index_answer(&listed);
        }
        let asked = path.strip_prefix(ENTRIES).unwrap_or_default();
        match bodies.iter().find(|b| asked.ends_with(&uuid(b))) {
            Some(b) if method == "GET" => (200, entry_answer(&format!("{TREE_ID}{}", uuid(b)), b)),
            _ => (404, r#"{"code":404,"message":"no such entry"}"#.into()),
        }
    })
    .await
}

fn protocol_detail(r: Result<Vec<TlogEntry>, PortError>) -> String {
    match r {
        Err(PortError::Protocol { service, detail }) => {
            assert_eq!(service, "Rekor");
            detail
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn rekor_search_asks_by_certificate_and_fetches_each_uuid_once() {
    let (b1, b2) = (body(1), body(2));
    let listed = vec![
        format!("{TREE_ID}{}", uuid(&b1)),
        uuid(&b2),
        format!("{TREE_ID}{}", uuid(&b1)).to_ascii_uppercase(),
        format!("{TREE_ID}{}", uuid(&b1)),
    ];
    let fake = serving(listed, vec![b1.clone(), b2.clone()]).await;
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let found = client(&fake.url)
        .entries_for_certificate(pem)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        [b1.clone(), b2.clone()]
    );
    assert_eq!(
        fake.requests(),
        [
            format!("POST {INDEX}"),
            format!("GET {ENTRIES}{TREE_ID}{}", uuid(&b1)),
            format!("GET {ENTRIES}{}", uuid(&b2)),
        ]
    );
    let query: serde_json::Value =
        serde_json::from_slice(&fake.requests.lock().unwrap()[0].1).unwrap();
    assert_eq!(
        query,
        serde_json::json!({"publicKey": {"format": "x509", "content": B64.encode(pem)}})
    );
    fake.stop().await;
}

#[tokio::test]
async fn rekor_search_with_no_entries_is_empty() {
    let fake = serving(vec![], vec![]).await;
    assert_eq!(
        client(&fake.url)
            .entries_for_certificate("pem")
            .await
            .unwrap(),
        []
    );
    assert_eq!(fake.requests(), [format!("POST {INDEX}")]);
    fake.stop().await;
}

#[tokio::test]
async fn rekor_search_fetches_up_to_max_results_and_refuses_more() {
    let bodies: Vec<Vec<u8>> = (0..=MAX_SEARCH_RESULTS).map(body).collect();
    let uuids: Vec<String> = bodies.iter().map(|b| uuid(b)).collect();

    let fake = serving(uuids[..MAX_SEARCH_RESULTS].to_vec(), bodies.clone()).await;
    let found = client(&fake.url)
        .entries_for_certificate("pem")
        .await
        .unwrap();
    assert_eq!(found.len(), MAX_SEARCH_RESULTS);
    fake.stop().await;

    let fake = serving(uuids, bodies).await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert_eq!(
        detail,
        "the search index lists 65 entries for this certificate, more than the 64 signet \
         fetches; refusing to verify against a partial list"
    );
    assert_eq!(
        fake.requests(),
        [format!("POST {INDEX}")],
        "nothing fetched"
    );
    fake.stop().await;
}

#[tokio::test]
async fn rekor_search_refuses_malformed_index_answers() {
    let good = uuid(&body(1));
    for bad in [
        "xyz".to_owned(),
        good[1..].to_owned(),
        format!("{good}0"),
        format!("{}g", &good[1..]),
        format!("{TREE_ID}{}z", &good[1..]),
        String::new(),
    ] {
        let fake = serving(vec![good.clone(), bad.clone()], vec![body(1)]).await;
        let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
        assert_eq!(
            detail,
            format!(
                "the search index lists {bad:?}, which is not an entry UUID (64 or 80 hex \
                 digits)"
            )
        );
        assert_eq!(
            fake.requests(),
            [format!("POST {INDEX}")],
            "nothing fetched"
        );
        fake.stop().await;
    }
    let long = "x".repeat(5000);
    let fake = serving(vec![long], vec![]).await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert!(detail.len() < 200, "server text is quoted short: {detail}");
    fake.stop().await;

    for answer in [r#"{"uuids":[]}"#, r#"[1]"#, "not json", ""] {
        let fake = FakeRekor::start(move |_, _| (200, answer.into())).await;
        let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
        assert!(
            detail.starts_with("the search index answer is not a JSON array of entry UUIDs"),
            "{detail}"
        );
        fake.stop().await;
    }
}

#[tokio::test]
async fn rekor_search_refuses_an_answer_for_another_uuid() {
    let (asked, other) = (body(1), body(2));
    let (asked_id, other_id) = (uuid(&asked), format!("{TREE_ID}{}", uuid(&other)));
    let listed = vec![asked_id.clone()];
    let answer = entry_answer(&other_id, &other);
    let fake = FakeRekor::start(move |method, _| match method {
        "POST" => index_answer(&listed),
        _ => (200, answer.clone()),
    })
    .await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert_eq!(
        detail,
        format!("asked for entry {asked_id}, the answer is for entry {other_id:?}")
    );
    fake.stop().await;

    // An 80-hex request must be answered under that exact id, not another tree's.
    let listed = vec![format!("{TREE_ID}{asked_id}")];
    let answer = entry_answer(&format!("000000000000000f{asked_id}"), &asked);
    let fake = FakeRekor::start(move |method, _| match method {
        "POST" => index_answer(&listed),
        _ => (200, answer.clone()),
    })
    .await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert!(
        detail.starts_with(&format!(
            "asked for entry {TREE_ID}{asked_id}, the answer is for entry"
        )),
        "{detail}"
    );
    fake.stop().await;

    // Two entries in one answer, the second not the one asked for.
    let listed = vec![asked_id.clone()];
    let mut two: serde_json::Value =
        serde_json::from_str(&entry_answer(&asked_id, &asked)).unwrap();
    let extra: serde_json::Value = serde_json::from_str(&entry_answer(&other_id, &other)).unwrap();
    two[&other_id] = extra[&other_id].clone();
    let two = two.to_string();
    let fake = FakeRekor::start(move |method, _| match method {
        "POST" => index_answer(&listed),
        _ => (200, two.clone()),
    })
    .await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert!(detail.contains("the answer is for entry"), "{detail}");
    fake.stop().await;
}

#[tokio::test]
async fn rekor_search_refuses_a_body_the_uuid_does_not_name() {
    let asked_id = uuid(&body(1));
    let listed = vec![asked_id.clone()];
    let answer = entry_answer(&asked_id, &body(2));
    let fake = FakeRekor::start(move |method, _| match method {
        "POST" => index_answer(&listed),
        _ => (200, answer.clone()),
    })
    .await;
    let detail = protocol_detail(client(&fake.url).entries_for_certificate("pem").await);
    assert!(
        detail.starts_with(&format!("entry {asked_id}: "))
            && detail.contains("does not name the returned body"),
        "{detail}"
    );
    fake.stop().await;
}

#[tokio::test]
async fn rekor_search_passes_on_server_errors() {
    let fake = FakeRekor::start(|_, _| (500, r#"{"code":500,"message":"boom"}"#.into())).await;
    assert_eq!(
        client(&fake.url).entries_for_certificate("pem").await,
        Err(PortError::Server {
            service: "Rekor",
            status: 500,
            message: "boom".into()
        })
    );
    fake.stop().await;

    // A listed UUID the log does not have (404), and a fetch that fails (500).
    let (b1, b2) = (body(1), body(2));
    let missing = uuid(&body(3));
    let fake = serving(vec![uuid(&b1), missing.clone()], vec![b1.clone()]).await;
    assert_eq!(
        client(&fake.url).entries_for_certificate("pem").await,
        Err(PortError::Server {
            service: "Rekor",
            status: 404,
            message: "no such entry".into()
        })
    );
    assert_eq!(fake.requests().len(), 3);
    fake.stop().await;

    let listed = vec![uuid(&b2)];
    let fake = FakeRekor::start(move |method, _| match method {
        "POST" => index_answer(&listed),
        _ => (503, "<html>down</html>".into()),
    })
    .await;
    assert_eq!(
        client(&fake.url).entries_for_certificate("pem").await,
        Err(PortError::Server {
            service: "Rekor",
            status: 503,
            message: "<html>down</html>".into()
        })
    );
    fake.stop().await;
}
