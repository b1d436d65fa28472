//! Plumbing shared by the domain actors.
//!
//! A domain actor owns no mutable state of its own: its handlers hand each request to an
//! `Arc`-shared service and return the service's future, so a slow query never blocks the
//! mailbox and requests of one area run concurrently on the actor's arbiter.

/// Implements `Handler<Message>` for a domain actor by calling `service.method(message)`
/// and returning its future as the reply.
#[macro_export]
macro_rules! delegate_to_service {
    ($actor:ty, { $($message:ty => $method:ident),+ $(,)? }) => {
        $(
            impl actix::Handler<$message> for $actor {
                type Result = actix::ResponseFuture<<$message as actix::Message>::Result>;

                fn handle(&mut self, message: $message, _: &mut Self::Context) -> Self::Result {
                    let service = self.service.clone();
                    Box::pin(async move { service.$method(message).await })
                }
            }
        )+
    };
}

/// Mailbox capacity of domain actors. Handlers return at once, so the mailbox only fills
/// when requests arrive faster than futures can be started; senders then wait.
pub const DOMAIN_MAILBOX_CAPACITY: usize = 4096;
