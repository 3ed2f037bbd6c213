//! Worlds held for the booking desk: validated requests kept in memory under random ids, so that a
//! desk call can name its world (`world_id`) instead of sending and validating 2,400 patients every
//! time. Bounded: at most `capacity` worlds, each forgotten after `idle` without a call that names
//! it; when full, a new world pushes out the least recently used. Memory only: a restart forgets
//! every world, and callers load again on NOT_FOUND.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::planning::desk::World;

/// Held worlds (see the module docs).
pub struct Worlds {
    capacity: usize,
    idle: Duration,
    held: Mutex<HashMap<String, Held>>,
}

struct Held {
    world: Arc<World>,
    used: Instant,
}

impl Worlds {
    pub fn new(capacity: usize, idle: Duration) -> Self {
        Worlds {
            capacity: capacity.max(1),
            idle,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// How long a world is held without use.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Holds `world` and answers its new id.
    pub fn load(&self, world: World) -> std::io::Result<String> {
        self.load_at(world, Instant::now())
    }

    /// The world held under `id`, its idle time restarted; `None` when not held (never loaded,
    /// unloaded, idle too long or pushed out).
    pub fn get(&self, id: &str) -> Option<Arc<World>> {
        self.get_at(id, Instant::now())
    }

    /// Forgets the world held under `id`; false when none was.
    pub fn unload(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Worlds held now (idle ones not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        // A panic while the lock was held cannot leave the map half-changed: every change is one
        // insert or remove.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn load_at(&self, world: World, now: Instant) -> std::io::Result<String> {
        let id = random_id()?;
        let mut held = self.lock();
        sweep(&mut held, self.idle, now);
        while held.len() >= self.capacity {
            let oldest = held
                .iter()
                .min_by_key(|(_, h)| h.used)
                .map(|(id, _)| id.clone())
                .expect("a full map has an entry");
            held.remove(&oldest);
        }
        held.insert(
            id.clone(),
            Held {
                world: Arc::new(world),
                used: now,
            },
        );
        Ok(id)
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Arc<World>> {
        let mut held = self.lock();
        sweep(&mut held, self.idle, now);
        let h = held.get_mut(id)?;
        h.used = now;
        Some(Arc::clone(&h.world))
    }
}

/// Forgets the worlds idle for longer than `idle`.
fn sweep(held: &mut HashMap<String, Held>, idle: Duration, now: Instant) {
    held.retain(|_, h| now.saturating_duration_since(h.used) <= idle);
}

/// 128 random bits from the kernel, as 32 hex digits: not guessable, so one caller cannot name
/// another's world by chance.
fn random_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::proto as pb;

    fn world() -> World {
        let r: pb::ProposeAllocationsRequest =
            serde_json::from_str(include_str!("../../examples/sample-request.json")).unwrap();
        World::new(crate::domain::PlanningRequest::try_from(r).unwrap())
    }

    #[test]
    fn a_loaded_world_is_answered_under_its_id_until_unloaded() {
        let worlds = Worlds::new(4, Duration::from_secs(60));
        let w = world();
        let patients = w.req.patients.len();
        let a = worlds.load(w).unwrap();
        let b = worlds.load(world()).unwrap();
        assert_ne!(a, b, "each load gets its own id");
        assert_eq!(a.len(), 32);
        assert_eq!(worlds.get(&a).unwrap().req.patients.len(), patients);
        assert!(worlds.get("not-an-id").is_none());
        assert!(worlds.unload(&a));
        assert!(!worlds.unload(&a), "already gone");
        assert!(worlds.get(&a).is_none());
        assert!(worlds.get(&b).is_some());
    }

    #[test]
    fn a_full_store_forgets_the_least_recently_used_world() {
        let worlds = Worlds::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let a = worlds.load_at(world(), at(0)).unwrap();
        let b = worlds.load_at(world(), at(1)).unwrap();
        // `a` is used after `b` was loaded, so `b` is now the least recently used.
        assert!(worlds.get_at(&a, at(2)).is_some());
        let c = worlds.load_at(world(), at(3)).unwrap();
        assert_eq!(worlds.len(), 2);
        assert!(worlds.get_at(&b, at(4)).is_none());
        assert!(worlds.get_at(&a, at(4)).is_some());
        assert!(worlds.get_at(&c, at(4)).is_some());
    }

    #[test]
    fn an_idle_world_is_forgotten_and_use_keeps_a_world() {
        let worlds = Worlds::new(8, Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let kept = worlds.load_at(world(), at(0)).unwrap();
        let idle = worlds.load_at(world(), at(0)).unwrap();
        assert!(worlds.get_at(&kept, at(8)).is_some());
        assert!(
            worlds.get_at(&kept, at(16)).is_some(),
            "used at 8 s, so held to 18 s"
        );
        assert!(worlds.get_at(&idle, at(16)).is_none(), "idle since 0 s");
        assert_eq!(
            worlds.len(),
            1,
            "the idle world left memory, not only the answers"
        );
        assert!(worlds.get_at(&kept, at(27)).is_none());
        assert!(worlds.is_empty());
    }
}
