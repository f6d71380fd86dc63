//! Analytics over a time range, per the definitions in
//! `support_core::analytics`.

use chrono::Duration;

use crate::common::*;

async fn analytics_counts_and_times_follow_the_definitions(desk: Desk) {
    let ada = admin("ada");
    let t0 = desk.clock_now();

    // Alice: answered after 60 s, closed after 300 s, reopened, closed again at 900 s.
    let a = desk.conversation_of(&user("alice"), "a1").await;
    let a_created = desk.clock_now();
    desk.clock.advance(Duration::seconds(59));
    desk.post(&ada, a, "reply").await; // +60 s
    desk.clock.advance(Duration::seconds(240));
    desk.support.close(&ada, a).await.expect("close"); // +300 s
    desk.clock.advance(Duration::seconds(300));
    desk.support.reopen(&ada, a).await.expect("reopen");
    desk.clock.advance(Duration::seconds(300));
    desk.support.close(&ada, a).await.expect("close"); // +900 s
    assert_eq!(desk.clock_now() - a_created, Duration::seconds(900));

    // Bob: answered after 120 s, still open. Carol: unanswered, awaiting.
    let b = desk.conversation_of(&user("bob"), "b1").await;
    desk.clock.advance(Duration::seconds(119));
    desk.post(&ada, b, "reply").await;
    desk.conversation_of(&user("carol"), "c1").await;
    desk.send(&user("carol"), "c2").await;

    let report = desk
        .support
        .analytics(
            &ada,
            Some(t0),
            Some(desk.clock_now() + Duration::seconds(1)),
        )
        .await
        .expect("analytics");
    assert_eq!(report.conversations_created, 3);
    assert_eq!(report.conversations_closed, 2, "each close action counts");
    assert_eq!(report.messages_from_users, 4);
    assert_eq!(report.messages_from_admins, 2);
    assert_eq!(report.open_now, 2);
    assert_eq!(report.awaiting_reply_now, 1);
    let first = report.first_response_seconds;
    assert_eq!(
        (first.count, first.mean, first.median, first.p90),
        (2, Some(90.0), Some(90.0), Some(120.0))
    );
    let resolution = report.resolution_seconds;
    assert_eq!(
        (
            resolution.count,
            resolution.mean,
            resolution.median,
            resolution.p90
        ),
        (2, Some(600.0), Some(600.0), Some(900.0))
    );

    // A range that ends before anything happened sees nothing in range.
    let empty = desk
        .support
        .analytics(&ada, Some(t0 - Duration::days(1)), Some(t0))
        .await
        .expect("analytics");
    assert_eq!(empty.conversations_created, 0);
    assert_eq!(empty.first_response_seconds.mean, None);
    assert_eq!(empty.open_now, 2, "\"now\" figures ignore the range");

    let reversed = desk.support.analytics(&ada, Some(t0), Some(t0)).await;
    assert_eq!(invalid_field(&reversed), Some("from"));
}

on_every_backend!(analytics_counts_and_times_follow_the_definitions);
