//! Solves placed on the cores. Each running solve holds as many cores as it has worker threads,
//! the least held first, and its thread (with the helper threads it starts, which inherit the
//! placement) runs only there while it plans.
//!
//! Without it, two one-worker solves on a two-core machine were often stacked on one core while
//! the other stood idle for milliseconds: a solve thread wakes on the core of the thread that
//! woke it, and the kernel moves it away only at its next balancing pass. Under load that idled
//! a tenth of the machine (see BENCHMARKS.md, "Solves placed on the cores").
//!
//! Placement is used only where it is safe: on Linux, when the process may run on exactly as
//! many CPUs as the cores it counts (`available_parallelism`). Under a CPU quota narrower than
//! its CPU set (a container limit, say) the process does not own the CPUs it may run on, so its
//! solves are left to the kernel.

use std::sync::{Arc, Mutex};

/// The cores solves may be placed on, and how many running solves hold each.
#[derive(Debug)]
pub struct Cores {
    /// The CPUs this process may run on (empty: placement is off).
    cpus: Vec<usize>,
    held: Mutex<Vec<u32>>,
}

impl Cores {
    /// The process's own CPUs, when placement is safe (see the module); else placement is off.
    pub fn of_process() -> Arc<Cores> {
        let cpus = affinity::current().unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        if cpus.len() == cores && cores > 1 {
            Arc::new(Cores::on(cpus))
        } else {
            Arc::new(Cores::on(Vec::new()))
        }
    }

    /// Placement over the given CPUs (none: off).
    fn on(cpus: Vec<usize>) -> Cores {
        let held = Mutex::new(vec![0; cpus.len()]);
        Cores { cpus, held }
    }

    /// Takes `workers` cores (at most all of them), the least held first and, among equals, the
    /// first; they are held until the placement is dropped.
    pub fn take(self: &Arc<Self>, workers: usize) -> Placement {
        let mut held = self.held.lock().expect("cores");
        let mut order: Vec<usize> = (0..self.cpus.len()).collect();
        order.sort_by_key(|&i| (held[i], i));
        order.truncate(workers.max(1));
        order.sort_unstable();
        for &i in &order {
            held[i] += 1;
        }
        Placement {
            cores: self.clone(),
            taken: order,
        }
    }

    #[cfg(test)]
    fn held(&self) -> Vec<u32> {
        self.held.lock().expect("cores").clone()
    }
}

/// Cores held by one solve.
#[derive(Debug)]
pub struct Placement {
    cores: Arc<Cores>,
    /// Indexes into `cores.cpus`.
    taken: Vec<usize>,
}

impl Placement {
    /// The CPUs held.
    pub fn cpus(&self) -> Vec<usize> {
        self.taken.iter().map(|&i| self.cores.cpus[i]).collect()
    }

    /// Runs `f` on the calling thread kept to the cores held; the thread may run anywhere again
    /// afterwards (solve threads are reused).
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.taken.is_empty() {
            return f();
        }
        let pinned = affinity::set(&self.cpus()).is_ok();
        let out = f();
        if pinned {
            // Best effort: a thread left on fewer cores only runs slower.
            let _ = affinity::set(&self.cores.cpus);
        }
        out
    }
}

impl Drop for Placement {
    fn drop(&mut self) {
        let mut held = self.cores.held.lock().expect("cores");
        for &i in &self.taken {
            held[i] -= 1;
        }
    }
}

/// The calling thread's CPU set.
#[cfg(target_os = "linux")]
mod affinity {
    /// The CPUs the calling thread may run on.
    pub fn current() -> Option<Vec<usize>> {
        // SAFETY: an all-zero cpu_set_t is a valid empty set, and the call writes at most its
        // size into it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return None;
            }
            Some(
                (0..libc::CPU_SETSIZE as usize)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect(),
            )
        }
    }

    /// Keeps the calling thread to `cpus`.
    pub fn set(cpus: &[usize]) -> std::io::Result<()> {
        // SAFETY: the set is built in place and passed with its own size; pid 0 is the calling
        // thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &c in cpus {
                libc::CPU_SET(c, &mut set);
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// Elsewhere placement is off.
#[cfg(not(target_os = "linux"))]
mod affinity {
    pub fn current() -> Option<Vec<usize>> {
        None
    }

    pub fn set(_cpus: &[usize]) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_take_the_least_held_cores_and_give_them_back() {
        let cores = Arc::new(Cores::on(vec![0, 1, 2, 3]));
        let a = cores.take(1);
        let b = cores.take(1);
        assert_eq!((a.cpus(), b.cpus()), (vec![0], vec![1]));
        let c = cores.take(2);
        assert_eq!(c.cpus(), vec![2, 3]);
        // Every core is held once: a fourth solve shares the first.
        let d = cores.take(1);
        assert_eq!(d.cpus(), vec![0]);
        assert_eq!(cores.held(), vec![2, 1, 1, 1]);
        drop(b);
        drop(c);
        assert_eq!(cores.held(), vec![2, 0, 0, 0]);
        // More workers than cores hold every core once.
        let e = cores.take(9);
        assert_eq!(e.cpus(), vec![0, 1, 2, 3]);
        drop((a, d, e));
        assert_eq!(cores.held(), vec![0, 0, 0, 0]);
    }

    #[test]
    fn without_cores_placement_is_off_and_the_work_still_runs() {
        let cores = Arc::new(Cores::on(Vec::new()));
        let p = cores.take(2);
        assert!(p.cpus().is_empty());
        assert_eq!(p.run(|| 7), 7);
    }

    /// On Linux the thread runs on the cores held while it plans, and anywhere again after.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_placed_thread_runs_on_its_cores_and_is_freed_after() {
        std::thread::spawn(|| {
            let all = affinity::current().expect("the thread's CPUs");
            let cores = Arc::new(Cores::on(all.clone()));
            let p = cores.take(1);
            let inside = p.run(|| affinity::current().expect("the thread's CPUs"));
            assert_eq!(inside, vec![all[0]]);
            assert_eq!(affinity::current().expect("the thread's CPUs"), all);
        })
        .join()
        .expect("the test thread");
    }
}
