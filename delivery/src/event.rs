//! What the outbox tells the server as it works: for logs, metrics, and the alert
//! shown to the segretario. Events are a live feed only; the outbox table is the
//! record (a server that missed an event finds the dead letters with
//! [`Outbox::dead_letters`](crate::Outbox::dead_letters)).

/// One outcome of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// The sink acknowledged the package.
    Delivered {
        /// The delivery's id.
        id: String,
        /// The package, as `<session> v<version>`.
        package: String,
        /// The sink's name.
        sink: String,
        /// The attempt that succeeded (from 1).
        attempts: u32,
    },
    /// An attempt failed and another is scheduled.
    Retrying {
        /// The delivery's id.
        id: String,
        /// The sink's name.
        sink: String,
        /// The failure's stable code.
        code: String,
        /// When the next attempt is due (ms since the epoch).
        next_attempt_at_ms: i64,
    },
    /// **Alert**: the delivery is dead — refused by the sink, or failing past the
    /// configured time. Someone must act (fix the receiver, then retry it).
    DeadLetter {
        /// The delivery's id.
        id: String,
        /// The package, as `<session> v<version>`.
        package: String,
        /// The sink's name.
        sink: String,
        /// The last failure's stable code.
        code: String,
        /// The last failure, with the receiver's message.
        message: String,
    },
}
