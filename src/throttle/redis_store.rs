//! The counters in Redis (`TESSERA_REDIS_URL`): one hash per key (`f` failures, `l` last
//! failure, `e` end of its window) and one sorted set of recently failed keys that instances
//! poll. A failure is one Lua script, so the check of the window and the increment are atomic.
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

/// Longest wait for Redis to connect or answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A Redis connection (reconnecting by itself) and the prefix of every key we write.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
}

const FAILURE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local recent = KEYS[1]
for i = 2, #KEYS do
  local key = KEYS[i]
  local ends = tonumber(redis.call('HGET', key, 'e') or '0')
  if ends <= now then
    redis.call('HSET', key, 'f', 1, 'l', now, 'e', now + window)
  else
    redis.call('HINCRBY', key, 'f', 1)
    redis.call('HSET', key, 'l', now, 'e', now + window)
  end
  redis.call('EXPIRE', key, window + 60)
  redis.call('ZADD', recent, now, ARGV[i + 1])
end
redis.call('ZREMRANGEBYSCORE', recent, '-inf', now - window)
redis.call('EXPIRE', recent, window + 60)
return 1
";

impl RedisStore {
    /// Connects once at start, so a wrong URL or an unreachable Redis stops the server there.
    /// Later outages are answered within [`TIMEOUT`] (503), never by a hanging request.
    pub async fn connect(url: &str, prefix: &str) -> redis::RedisResult<RedisStore> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = client.get_connection_manager_with_config(config).await?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}throttle:{key}", self.prefix)
    }

    fn recent_key(&self) -> String {
        format!("{}throttle-recent", self.prefix)
    }

    /// `(failures, last_failure)` under each of `keys`, in order; None where there is none.
    pub async fn read(&self, keys: &[String]) -> redis::RedisResult<Vec<Option<(u32, i64)>>> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HMGET").arg(self.key(key)).arg("f").arg("l");
        }
        let mut connection = self.connection.clone();
        let rows: Vec<(Option<u32>, Option<i64>)> = pipe.query_async(&mut connection).await?;
        Ok(rows.into_iter().map(|(f, l)| Some((f?, l?))).collect())
    }

    pub async fn record_failure(
        &self,
        keys: &[String],
        now: i64,
        window: i64,
    ) -> redis::RedisResult<()> {
        let script = Script::new(FAILURE);
        let mut invocation = script.key(self.recent_key());
        for key in keys {
            invocation.key(self.key(key));
        }
        invocation.arg(now).arg(window);
        for key in keys {
            invocation.arg(key);
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async::<i64>(&mut connection)
            .await
            .map(|_| ())
    }

    pub async fn reset(&self, key: &str) -> redis::RedisResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut connection)
            .await
            .map(|_| ())
    }

    /// Keys with a failure after `since`, at most `limit`.
    pub async fn recent(&self, since: i64, limit: u64) -> redis::RedisResult<Vec<(String, i64)>> {
        let mut connection = self.connection.clone();
        let rows: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.recent_key())
            .arg(format!("({since}"))
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut connection)
            .await?;
        Ok(rows.into_iter().map(|(k, s)| (k, s as i64)).collect())
    }
}
