//! The email channel and the worker against a real SMTP server on loopback
//! (a small sink written here, speaking enough SMTP for `lettre`): a reply
//! is mailed once, after the grace period (checked with a stopped clock);
//! several replies in the window make one email; a reply seen in time is
//! never mailed; nobody is mailed about their own message; message markup
//! is escaped in the HTML part; a permanent refusal (5yz) kills the job, a
//! transient one (4yz) is retried.
#![allow(missing_docs)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use support_axum::outbound::{EmailChannel, EmailConfig, LogChannel, Worker, WorkerConfig};
use support_core::notification::{Contact, StoredContacts};
use support_core::{
    Channel, ConversationId, Job, JobQuery, JobState, ManualClock, MessageId, NewMessage,
    NotificationRules, Principal, RetryPolicy, Storage, Support, SupportConfig, UserId,
};
use support_sqlx::SqliteStorage;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

// ----------------------------------------------------------- SMTP sink

/// One accepted message.
#[derive(Clone, Debug)]
struct Mail {
    from: String,
    to: Vec<String>,
    /// Headers and body as sent, dot-unstuffed.
    data: String,
}

impl Mail {
    /// The `text/html` part, decoded.
    fn html_part(&self) -> String {
        self.part("text/html")
    }

    /// The `text/plain` part, decoded.
    fn text_part(&self) -> String {
        self.part("text/plain")
    }

    /// The body of the part of type `content_type` (up to the next
    /// boundary), quoted-printable decoded if so encoded.
    fn part(&self, content_type: &str) -> String {
        let start = self
            .data
            .find(&format!("Content-Type: {content_type}"))
            .unwrap_or_else(|| panic!("a {content_type} part in {}", self.data));
        let rest = &self.data[start..];
        let rest = &rest[..rest.find("\r\n--").unwrap_or(rest.len())];
        let (headers, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
        if headers.contains("quoted-printable") {
            decode_quoted_printable(body)
        } else {
            body.to_owned()
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let headers = self.data.split("\r\n\r\n").next()?;
        headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// A tiny SMTP server: greets, accepts EHLO/HELO, MAIL, RCPT (answering
/// with `rcpt_reply`), DATA (read up to `<CRLF>.<CRLF>`), RSET, NOOP, QUIT,
/// and records each message it accepted.
#[derive(Clone)]
struct Sink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    rcpt_reply: Arc<Mutex<String>>,
    rcpt_attempts: Arc<Mutex<usize>>,
}

impl Sink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let sink = Self {
            addr: listener.local_addr().expect("addr"),
            mails: Arc::default(),
            rcpt_reply: Arc::new(Mutex::new("250 2.1.5 OK".to_owned())),
            rcpt_attempts: Arc::default(),
        };
        let server = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = server.clone();
                tokio::spawn(async move {
                    let _ = sink.session(stream).await;
                });
            }
        });
        sink
    }

    fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    fn answer_rcpt(&self, reply: &str) {
        *self.rcpt_reply.lock().expect("reply") = reply.to_owned();
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().expect("mails").clone()
    }

    fn rcpt_attempts(&self) -> usize {
        *self.rcpt_attempts.lock().expect("attempts")
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 sink.test ESMTP\r\n").await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let reply = match verb.as_str() {
                "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
                "HELO" | "NOOP" => "250 OK".to_owned(),
                "RSET" => {
                    from.clear();
                    to.clear();
                    "250 OK".to_owned()
                }
                "MAIL" => {
                    from = angle(&command);
                    "250 2.1.0 OK".to_owned()
                }
                "RCPT" => {
                    *self.rcpt_attempts.lock().expect("attempts") += 1;
                    let reply = self.rcpt_reply.lock().expect("reply").clone();
                    if reply.starts_with('2') {
                        to.push(angle(&command));
                    }
                    reply
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" {
                            break;
                        }
                        data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    self.mails.lock().expect("mails").push(Mail {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    "250 2.0.0 queued".to_owned()
                }
                "QUIT" => {
                    write.write_all(b"221 2.0.0 bye\r\n").await?;
                    return Ok(());
                }
                _ => "502 5.5.2 unknown command".to_owned(),
            };
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| joined.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf-8")
}

/// The address between `<` and `>`.
fn angle(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command[start..end].to_owned()
}

// --------------------------------------------------------------- desk

const GRACE_SECS: i64 = 120;
const ALICE: &str = "alice@example.com";
const ADA: &str = "ada@example.com";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn rules() -> SupportConfig {
    SupportConfig {
        notifications: NotificationRules {
            user_channels: vec![Channel::Email],
            team_channels: vec![Channel::Webhook],
            reply_grace: Duration::seconds(GRACE_SECS),
            team_alert_window: Duration::zero(),
        },
        ..SupportConfig::default()
    }
}

struct Desk {
    support: Support,
    clock: Arc<ManualClock>,
    sink: Sink,
    worker: Worker,
}

async fn desk(storage: Arc<dyn Storage>) -> Desk {
    let clock = Arc::new(ManualClock::new(start()));
    let support = Support::new(Arc::clone(&storage))
        .with_clock(clock.clone())
        .with_config(rules());
    let sink = Sink::start().await;
    let mut config = EmailConfig::new(sink.url(), "Support <support@desk.test>");
    config.link_template = Some("http://127.0.0.1:3000/support".to_owned());
    let email = EmailChannel::new(config).expect("email channel");
    let worker = Worker::new(support.clone(), Arc::new(StoredContacts(storage)))
        .channel(Channel::Email, Arc::new(email))
        .channel(Channel::Webhook, Arc::new(LogChannel))
        .config(WorkerConfig {
            retry: RetryPolicy {
                base: Duration::seconds(1),
                max: Duration::seconds(60),
                max_attempts: 5,
                jitter_per_mille: 0,
            },
            ..WorkerConfig::default()
        });
    // The host vouches for both addresses (as a token's claims would).
    for (who, email) in [(user("alice"), ALICE), (admin(), ADA)] {
        support
            .remember_contact(
                &who,
                &Contact {
                    email: Some(email.to_owned()),
                    ..Contact::default()
                },
            )
            .await
            .expect("remember contact");
    }
    Desk {
        support,
        clock,
        sink,
        worker,
    }
}

async fn sqlite_desk() -> Desk {
    let storage = SqliteStorage::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    desk(Arc::new(storage)).await
}

fn user(name: &str) -> Principal {
    Principal::user(UserId::parse(name).expect("user id"))
}

fn admin() -> Principal {
    Principal::admin(UserId::parse("ada").expect("admin id"))
}

fn text(content: &str) -> NewMessage {
    NewMessage {
        content: content.to_owned(),
        client_id: None,
    }
}

impl Desk {
    /// Alice writes; returns her conversation.
    async fn alice_writes(&self, content: &str) -> ConversationId {
        self.support
            .send(&user("alice"), text(content))
            .await
            .expect("send")
            .conversation
            .conversation
            .id
    }

    async fn ada_replies(&self, conversation: ConversationId, content: &str) -> MessageId {
        self.support
            .post(&admin(), conversation, text(content))
            .await
            .expect("reply")
            .message
            .message
            .id
    }

    async fn run(&self) -> support_axum::outbound::RunStats {
        self.worker.run_once().await.expect("run")
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    async fn email_jobs(&self) -> Vec<Job> {
        self.support
            .notification_jobs(
                &admin(),
                JobQuery {
                    states: Vec::new(),
                    limit: 200,
                },
            )
            .await
            .expect("jobs")
            .into_iter()
            .filter(|j| j.channel == Channel::Email)
            .collect()
    }
}

// --------------------------------------------------------------- tests

async fn a_reply_is_mailed_once_and_only_after_the_grace_period(desk: Desk) {
    let conversation = desk.alice_writes("my invoice is wrong").await;
    desk.run().await; // the team alert (log channel)
    desk.ada_replies(conversation, "Looking into it now.").await;

    // Before the grace period ends, nothing is due.
    let early = desk.run().await;
    assert_eq!(early.claimed, 0, "{early:?}");
    desk.advance(GRACE_SECS - 1);
    assert_eq!(desk.run().await.claimed, 0);
    assert!(
        desk.sink.mails().is_empty(),
        "nothing before the grace period"
    );

    desk.advance(1);
    let stats = desk.run().await;
    assert_eq!(stats.delivered, 1, "{stats:?}");
    desk.advance(3600);
    assert_eq!(desk.run().await.claimed, 0, "nothing left to send");

    let mails = desk.sink.mails();
    assert_eq!(mails.len(), 1, "exactly once");
    let mail = &mails[0];
    assert_eq!(mail.to, vec![ALICE.to_owned()]);
    assert_eq!(mail.from, "support@desk.test");
    assert_eq!(mail.header("Subject"), Some("New reply from support"));
    assert!(
        mail.header("Content-Type")
            .is_some_and(|v| v.starts_with("multipart/alternative")),
        "{}",
        mail.data
    );
    let job = desk.email_jobs().await.remove(0);
    assert_eq!(job.state, JobState::Done);
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@desk.test>", job.id).as_str()),
        "the delivery id names the message"
    );
    for part in [mail.text_part(), mail.html_part()] {
        assert!(part.contains("Looking into it now."), "{part}");
        assert!(part.contains("http://127.0.0.1:3000/support"), "{part}");
        assert!(!part.contains("my invoice is wrong"), "only new replies");
    }
}

#[tokio::test]
async fn a_reply_is_mailed_once_after_the_grace_period_on_sqlite() {
    a_reply_is_mailed_once_and_only_after_the_grace_period(sqlite_desk().await).await;
}

#[tokio::test]
async fn a_reply_is_mailed_once_after_the_grace_period_on_postgres() {
    let Some(pool) = support_test_harness::postgres_pool().await else {
        return;
    };
    let storage = support_sqlx::PostgresStorage::new(pool);
    storage.migrate().await.expect("migrate");
    a_reply_is_mailed_once_and_only_after_the_grace_period(desk(Arc::new(storage)).await).await;
}

#[tokio::test]
async fn replies_within_the_window_make_one_email_listing_them_all() {
    let desk = sqlite_desk().await;
    let conversation = desk.alice_writes("where is my parcel?").await;
    desk.ada_replies(conversation, "Checking with the carrier.")
        .await;
    desk.advance(30);
    desk.ada_replies(conversation, "It left the depot today.")
        .await;
    desk.advance(30);
    desk.ada_replies(conversation, "Tracking number: 42.").await;
    assert_eq!(desk.email_jobs().await.len(), 1, "one job for the window");

    desk.advance(600);
    let stats = desk.run().await;
    assert_eq!(stats.delivered, 1, "{stats:?}");
    let mails = desk.sink.mails();
    assert_eq!(mails.len(), 1, "one email");
    let mail = &mails[0];
    assert_eq!(mail.header("Subject"), Some("3 new replies from support"));
    for reply in [
        "Checking with the carrier.",
        "It left the depot today.",
        "Tracking number: 42.",
    ] {
        assert!(mail.text_part().contains(reply), "{reply}");
        assert!(mail.html_part().contains(reply), "{reply}");
    }
}

#[tokio::test]
async fn a_reply_seen_in_time_is_not_mailed() {
    let desk = sqlite_desk().await;
    let conversation = desk.alice_writes("is anyone there?").await;
    let reply = desk.ada_replies(conversation, "Yes, I am here.").await;
    desk.advance(GRACE_SECS / 2);
    desk.support
        .mark_seen(&user("alice"), conversation, reply)
        .await
        .expect("seen");

    desk.advance(3600);
    let stats = desk.run().await;
    assert_eq!(stats.delivered, 0, "{stats:?}");
    assert!(desk.sink.mails().is_empty(), "no email");
    assert_eq!(desk.sink.rcpt_attempts(), 0, "not even an attempt");
    assert!(
        desk.email_jobs()
            .await
            .iter()
            .all(|j| j.state == JobState::Cancelled),
        "cancelled"
    );
}

#[tokio::test]
async fn nobody_is_mailed_about_their_own_message() {
    let desk = sqlite_desk().await;
    // A user's own messages: no email to that user (nor to anyone else).
    let conversation = desk.alice_writes("first question").await;
    desk.advance(3600);
    desk.run().await;
    assert!(desk.sink.mails().is_empty(), "alice wrote it: no mail");

    // An admin's reply: mailed to the user, never to the admin who wrote it,
    // and without the user's own message.
    desk.ada_replies(conversation, "An answer from ada.").await;
    desk.advance(GRACE_SECS);
    desk.run().await;
    let mails = desk.sink.mails();
    assert_eq!(mails.len(), 1, "the reply is mailed once");
    assert_eq!(mails[0].to, vec![ALICE.to_owned()], "to alice, not to ada");
    assert!(mails[0].data.contains("An answer from ada."));
    assert!(
        !mails[0].data.contains("first question"),
        "{}",
        mails[0].data
    );

    // The user's follow-up mails nobody: not alice, and not ada (the team
    // hears of it through the team channels, not by email).
    desk.alice_writes("a follow-up from alice").await;
    desk.advance(3600);
    desk.run().await;
    assert_eq!(
        desk.sink.mails().len(),
        1,
        "no mail about alice's own message"
    );
    assert!(
        desk.email_jobs().await.iter().all(|j| {
            j.recipient.user().map(UserId::as_str) == Some("alice")
                && j.kind == support_core::NotificationKind::AdminReply
        }),
        "email jobs exist only for replies to alice"
    );
}

#[tokio::test]
async fn message_markup_is_escaped_in_the_html_part() {
    let desk = sqlite_desk().await;
    let conversation = desk.alice_writes("hello").await;
    desk.ada_replies(
        conversation,
        r#"<script>alert(1)</script> & "quoted" 'text'"#,
    )
    .await;
    desk.advance(GRACE_SECS);
    assert_eq!(desk.run().await.delivered, 1);
    let mails = desk.sink.mails();
    let html = mails[0].html_part();
    assert!(
        html.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot; &#39;text&#39;"
        ),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        mails[0]
            .text_part()
            .contains(r#"<script>alert(1)</script> & "quoted" 'text'"#),
        "the plain-text part is verbatim"
    );
}

#[tokio::test]
async fn a_permanent_smtp_refusal_kills_the_job_without_retry() {
    let desk = sqlite_desk().await;
    // Servers tend to repeat the address in their refusal.
    desk.sink
        .answer_rcpt(&format!("550 5.1.1 <{ALICE}>: no such mailbox"));
    let conversation = desk.alice_writes("hello").await;
    desk.ada_replies(conversation, "hi").await;
    desk.advance(GRACE_SECS);
    let stats = desk.run().await;
    assert_eq!(stats.dead, 1, "{stats:?}");
    desk.advance(3600);
    assert_eq!(desk.run().await.claimed, 0, "dead stays dead");
    assert_eq!(desk.sink.rcpt_attempts(), 1, "tried once");
    assert!(desk.sink.mails().is_empty());
    let job = desk.email_jobs().await.remove(0);
    assert_eq!(job.state, JobState::Dead);
    assert_eq!(job.attempts, 1);
    assert!(
        job.last_error.as_deref().is_some_and(|e| e.contains("550")),
        "{job:?}"
    );
    assert!(
        !job.last_error
            .as_deref()
            .unwrap_or_default()
            .contains(ALICE),
        "the stored error (shown to admins) must not carry the address: {job:?}"
    );
}

#[tokio::test]
async fn a_transient_smtp_refusal_is_retried_until_it_is_accepted() {
    let desk = sqlite_desk().await;
    desk.sink.answer_rcpt("451 4.3.0 try again later");
    let conversation = desk.alice_writes("hello").await;
    desk.ada_replies(conversation, "hi there").await;
    desk.advance(GRACE_SECS);
    let stats = desk.run().await;
    assert_eq!(stats.retried, 1, "{stats:?}");
    let job = desk.email_jobs().await.remove(0);
    assert_eq!(job.state, JobState::Retrying);
    assert!(
        job.last_error.as_deref().is_some_and(|e| e.contains("451")),
        "{job:?}"
    );

    desk.sink.answer_rcpt("250 2.1.5 OK");
    desk.advance(1); // the first backoff step
    let stats = desk.run().await;
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert_eq!(desk.sink.rcpt_attempts(), 2);
    let mails = desk.sink.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text_part().contains("hi there"));
    let job = desk.email_jobs().await.remove(0);
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.attempts, 2);
}

#[tokio::test]
async fn an_unreachable_server_is_retried() {
    let desk = sqlite_desk().await;
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let channel = EmailChannel::new(EmailConfig::new(
        format!("smtp://{addr}"),
        "support@desk.test",
    ))
    .expect("channel");
    let worker = Worker::new(
        desk.support.clone(),
        Arc::new(StoredContacts(Arc::clone(desk.support.storage()))),
    )
    .channel(Channel::Email, Arc::new(channel))
    .channel(Channel::Webhook, Arc::new(LogChannel));
    let conversation = desk.alice_writes("hello").await;
    desk.ada_replies(conversation, "hi").await;
    desk.advance(GRACE_SECS);
    let stats = worker.run_once().await.expect("run");
    assert_eq!(stats.retried, 1, "{stats:?}");
}
