//! `https://` through rustls: a TLS server with a certificate from a
//! private CA (`tests/tls/`, made with
//! `openssl req -x509 ... -extensions ca` and `openssl x509 -req ... -extensions leaf`
//! from `tests/tls/openssl.cnf`), trusted with
//! `ClientBuilder::add_root_certificate`; untrusted without it.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sansrpc_http_client::{Client, ClientError, blocking};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

const CA: &[u8] = include_bytes!("tls/ca.pem");
const CERT: &[u8] = include_bytes!("tls/server.pem");
const KEY: &[u8] = include_bytes!("tls/server.key");

/// A TLS server on 127.0.0.1 answering every POST with `pong` (HTTP/1.1,
/// keep-alive), on a thread of its own.
fn tls_server() -> std::net::SocketAddr {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut tls = BufReader::new(tls);
                    loop {
                        let mut len = 0usize;
                        loop {
                            let mut line = String::new();
                            if tls.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((n, v)) = line.split_once(':') {
                                if n.eq_ignore_ascii_case("content-length") {
                                    len = v.trim().parse().unwrap();
                                }
                            }
                        }
                        let mut body = vec![0; len];
                        tls.read_exact(&mut body).await.unwrap();
                        let answer = br#"{"jsonrpc":"2.0","result":"pong","id":1}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            answer.len()
                        );
                        let out = tls.get_mut();
                        out.write_all(head.as_bytes()).await.unwrap();
                        out.write_all(answer).await.unwrap();
                        out.flush().await.unwrap();
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

#[tokio::test]
async fn https_with_a_trusted_private_ca() {
    let addr = tls_server();
    let url = format!("https://127.0.0.1:{}/", addr.port());
    let client = Client::builder(&url)
        .add_root_certificate(CA)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let pong: String = client.call("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");

    // Same server by name.
    let by_name = Client::builder(format!("https://localhost:{}/", addr.port()))
        .add_root_certificate(CA)
        .build()
        .unwrap();
    let pong: String = by_name.call("ping", ()).await.unwrap();
    assert_eq!(pong, "pong");

    // Without the CA, the certificate is not trusted.
    let e = Client::new(&url)
        .unwrap()
        .call::<String>("ping", ())
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Transport(_)), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");

    let bad = Client::builder(&url)
        .add_root_certificate("not a certificate")
        .build()
        .unwrap_err();
    assert!(matches!(bad, ClientError::Config(_)), "{bad:?}");
}

#[test]
fn blocking_https() {
    let addr = tls_server();
    let client = blocking::Client::builder(format!("https://127.0.0.1:{}/", addr.port()))
        .add_root_certificate(CA)
        .build_blocking()
        .unwrap();
    let pong: String = client.call("ping", ()).unwrap();
    assert_eq!(pong, "pong");
}
