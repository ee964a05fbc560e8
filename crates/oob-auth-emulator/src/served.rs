//! A provider's model as the server serves it: every request goes into one bounded log, the
//! clock is the server's (one clock for every provider), and what the model queued for sending
//! (webhooks, notifications) is delivered after every request and command (and every second
//! for CIBA, whose expiries need no request: `crate::delivery::TICK`).

use std::sync::Arc;
use std::time::Duration;

use auth_core::emulator::{
    Control, ControlError, Model, OffsetClock, PendingStepUp, RequestLog, clock_answer,
    pending_answer,
};
use auth_core::{Clock as _, HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::delivery::Delivery;

/// A served model: the provider's own [`Model`] plus the server's request log and clock.
pub(crate) struct Served {
    inner: Arc<dyn Model>,
    log: RequestLog,
    clock: OffsetClock,
    /// The provider's URL: a pending step-up's page relative to it becomes absolute.
    base_url: String,
    /// The `add_user` details when a command has none.
    default_user_details: Value,
    /// Where what the model sends on its own goes out (providers that send nothing: none).
    delivery: Option<Arc<Delivery>>,
}

impl Served {
    pub(crate) fn new(
        inner: Arc<dyn Model>,
        log_capacity: usize,
        clock: OffsetClock,
        base_url: String,
        default_user_details: Value,
        delivery: Option<Arc<Delivery>>,
    ) -> Served {
        Served {
            inner,
            log: RequestLog::with_capacity(log_capacity),
            clock,
            base_url,
            default_user_details,
            delivery,
        }
    }

    /// The provider's outgoing deliveries, if it makes any.
    pub(crate) fn delivery(&self) -> Option<&Arc<Delivery>> {
        self.delivery.as_ref()
    }

    /// Sends what the model queued (in the background; never waits).
    fn deliver(&self) {
        if let Some(delivery) = &self.delivery {
            delivery.kick();
        }
    }

    /// The server's own delivery commands: `{"deliver_webhooks": true}` (also
    /// `deliver_notifications`, `deliver`) sends what is queued now and waits for it;
    /// `{"auto_deliver": bool}` turns delivery after every request and command on or off.
    fn delivery_command(&self, body: &Value) -> Option<Result<Value, ControlError>> {
        let delivery = self.delivery.as_ref()?;
        if ["deliver_webhooks", "deliver_notifications", "deliver"]
            .iter()
            .any(|k| body.get(*k).and_then(Value::as_bool) == Some(true))
        {
            return Some(delivery.flush());
        }
        let auto = body.get("auto_deliver")?;
        Some(match auto.as_bool() {
            Some(on) => {
                delivery.set_auto(on);
                Ok(json!({ "auto_deliver": on }))
            }
            None => Err(ControlError::Invalid(
                "auto_deliver takes true or false".into(),
            )),
        })
    }

    /// The provider's own model (without the server's log).
    pub(crate) fn inner(&self) -> &Arc<dyn Model> {
        &self.inner
    }
}

#[async_trait::async_trait]
impl Model for Served {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let response = self
            .log
            .answer(self.clock.now(), request, |r| self.inner.handle(r))
            .await;
        self.deliver();
        response
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        let answer = self.run_control(command);
        self.deliver();
        answer
    }

    /// The model's pending step-ups, their pages made absolute (the phone page is elsewhere).
    fn pending(&self) -> Vec<PendingStepUp> {
        let mut pending = self.inner.pending();
        for p in &mut pending {
            if let Some(page) = p.page.as_mut().filter(|page| page.starts_with('/')) {
                page.insert_str(0, &self.base_url);
            }
        }
        pending
    }
}

impl Served {
    fn run_control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::Provider { body } => match self.delivery_command(&body) {
                Some(answer) => answer,
                None => self.inner.control(Control::Provider { body }),
            },
            Control::ReadLog { limit } => self.log.read(limit),
            // One clock for every provider: the server's. The model shares it; told that time
            // moved (by nothing more), it settles what ran out.
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds));
                let _ = self.inner.control(Control::AdvanceClock { seconds: 0 });
                Ok(clock_answer(self.clock.now()))
            }
            Control::ListPending => pending_answer(&self.pending()),
            Control::AddUser { user, details } if details.is_null() => {
                self.inner.control(Control::AddUser {
                    user,
                    details: self.default_user_details.clone(),
                })
            }
            other => self.inner.control(other),
        }
    }
}
