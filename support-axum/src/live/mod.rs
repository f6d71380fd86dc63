//! Live events: committed events fanned out to subscribers in log order.
//!
//! [`LiveHub`] is a [`support_core::Notifier`]: the core hands it each
//! committed batch. It publishes events strictly in log order (when a batch
//! arrives ahead of an earlier commit's, it reads the gap from the log), each
//! serialized once, and routes it by conversation owner: to the admins'
//! channel and to that user's channel only, so no stream tests events it
//! cannot receive. A subscriber that falls behind is caught up from the log,
//! never skipped. [`LiveFeed`] is the seam for a multi-node feed (PostgreSQL
//! `LISTEN/NOTIFY` waking [`LiveHub::catch_up`] on every node).

mod hub;
mod stream;

pub use hub::{LiveEvent, LiveFeed, LiveHub, Subscription};
pub(crate) use stream::event_stream;

/// A subscriber's event stream with a shutdown that never fires, for tests
/// that drive the hub without HTTP.
#[doc(hidden)]
pub fn event_stream_for_tests(
    support: support_core::Support,
    who: support_core::Principal,
    subscription: Subscription,
    resume_after: Option<support_core::EventSeq>,
) -> impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
+ Send
+ 'static {
    let (keep, shutdown) = tokio::sync::watch::channel(false);
    // The sender lives as long as the stream does.
    let keep = std::sync::Arc::new(keep);
    futures::StreamExt::map(
        event_stream(support, who, subscription, resume_after, shutdown, 500),
        move |frame| {
            let _ = &keep;
            frame
        },
    )
}
