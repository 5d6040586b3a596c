//! The system clock behind the `Clock` port.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::time::UnixTime;
use crate::flow::Clock;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}
