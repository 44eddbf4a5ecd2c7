//! The SMTP server of the tests: real SMTP on loopback, in the test's process, keeping what
//! it receives so that tests can read the mail the service sent.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parseable message")
    }
}

#[derive(Clone, Default)]
struct Collector {
    inbox: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
}

impl mailin_embedded::Handler for Collector {
    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current = Some(Received {
            from: from.to_string(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        if let Some(done) = self.current.take() {
            self.inbox.lock().unwrap().push(done);
        }
        mailin_embedded::response::OK
    }
}

/// A real SMTP server on loopback (mailin-embedded), collecting what it receives.
#[derive(Clone)]
pub struct TestSmtp {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
}

impl TestSmtp {
    /// Reserves a port without listening on it yet: mail sent there is refused until
    /// [`TestSmtp::start`] is called.
    pub fn reserve() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            inbox: Arc::default(),
        }
    }

    pub fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("SMTP port free");
        let collector = Collector {
            inbox: self.inbox.clone(),
            current: None,
        };
        std::thread::spawn(move || {
            let mut server = mailin_embedded::Server::new(collector);
            server
                .with_name("test-smtp")
                .with_tcp_listener(listener)
                .with_num_threads(2);
            let _ = server.serve();
        });
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) until at least `count` messages have arrived.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= count || start.elapsed() > limit {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
