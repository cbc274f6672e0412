//! Persistence: dump.rdb saves (SAVE, BGSAVE, save points, the shutdown's save) and loads.
//!
//! A save is a [`PersistJob`] the node hands its driver ([`Output::Persist`]); the driver
//! encodes and writes it and answers [`Input::PersistDone`] (Redis forks a child, `rdbSaveBackground`,
//! and learns its end in `checkChildrenDone`). A load decodes an image into the keyspace
//! (`rdbLoad` / `loadDataFromDisk`), restoring where the dataset stood in a replication stream.

use super::*;

#[derive(Debug)]
pub struct PersistJob {
    pub id: u64,
    pub path: String,
    pub background: bool,
    /// Write the image to `path` (false for a diskless snapshot that only goes to replicas).
    pub write_file: bool,
    /// Hand the encoded image back in [`Input::PersistDone`].
    pub return_image: bool,
    pub snapshot: Box<Keyspace>,
    pub aux: RdbAux,
    /// `rdb-key-save-delay`: the save takes this many µs longer per key (a test switch that
    /// makes a save last long enough to watch or interrupt).
    pub key_delay_us: i64,
}

impl PersistJob {
    /// How much longer than the encoding itself the save must take, in µs
    /// (`rdb-key-save-delay`: negative n means 1 µs for one key in |n|).
    pub fn extra_duration_us(&self) -> u64 {
        let keys = self.snapshot.total_keys() as u64;
        match self.key_delay_us {
            d if d > 0 => keys * d as u64,
            d if d < 0 => keys / d.unsigned_abs(),
            _ => 0,
        }
    }
}

/// Why a persist job was started, to know what to do when it ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PersistPurpose {
    /// A snapshot for replicas doing a full resync.
    Sync,
    /// SAVE from a client: reply when done.
    Save { conn: ConnId },
    /// BGSAVE or a save point.
    Background,
    /// The final save of a shutdown.
    Shutdown,
    /// The save of the emptied dataset by FLUSHALL (its changes were reset already).
    Flushall,
}

/// Persistence bookkeeping (`INFO persistence`).
#[derive(Debug, Default)]
pub struct PersistState {
    /// Writes since the last successful save (`rdb_changes_since_last_save`).
    pub dirty: u64,
    /// `dirty` when the current background save started.
    pub dirty_at_bgsave_start: u64,
    pub last_save_ms: u64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_duration_ms: Option<u64>,
    pub bgsave_started_ms: Option<u64>,
    pub bgsave_job: Option<u64>,
    pub rdb_saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    pub next_job_id: u64,
    pub bgsave_scheduled: bool,
    /// The jobs handed to the driver and not yet done, each with why it was started.
    pub(crate) jobs: Vec<(u64, PersistPurpose)>,
}

impl NodeState {
    pub fn rdb_path(&self) -> String {
        let dir = self.config.get_str("dir");
        let file = self.config.get_str("dbfilename");
        if dir.is_empty() {
            file
        } else {
            format!("{}/{}", dir.trim_end_matches('/'), file)
        }
    }

    /// Start a persist job; returns its id.
    pub(crate) fn start_persist(&mut self, background: bool, purpose: PersistPurpose) -> u64 {
        self.start_persist_job(background, true, false, purpose)
    }

    /// Start a persist job that writes the file and/or hands the image back; returns its id.
    pub(crate) fn start_persist_job(
        &mut self,
        background: bool,
        write_file: bool,
        return_image: bool,
        purpose: PersistPurpose,
    ) -> u64 {
        self.persist.next_job_id += 1;
        let id = self.persist.next_job_id;
        let used = self.keyspace.dbs.iter().map(|d| d.approx_memory()).sum::<usize>() as u64;
        let aux = RdbAux::standard(self.now / 1000, used, self.rdb_save_info().as_ref());
        self.outputs.push_back(Output::Persist(PersistJob {
            id,
            path: self.rdb_path(),
            background,
            write_file,
            return_image,
            snapshot: Box::new(self.keyspace.clone()),
            aux,
            key_delay_us: self.config.int("rdb-key-save-delay"),
        }));
        self.persist.jobs.push((id, purpose));
        id
    }

    /// BGSAVE: start a background save unless one is running. Returns false if one is.
    pub fn start_bgsave(&mut self) -> bool {
        if self.persist.bgsave_job.is_some() {
            return false;
        }
        self.begin_bgsave(PersistPurpose::Background, false);
        true
    }

    /// Start a background save of dump.rdb (a BGSAVE, or a snapshot for replicas on disk when
    /// `with_image`) and keep INFO persistence's books; returns the job id.
    pub(crate) fn begin_bgsave(&mut self, purpose: PersistPurpose, with_image: bool) -> u64 {
        let id = self.start_persist_job(true, true, with_image, purpose);
        self.persist.bgsave_job = Some(id);
        self.persist.bgsave_started_ms = Some(self.now);
        self.persist.dirty_at_bgsave_start = self.persist.dirty;
        self.log(LogLevel::Notice, format!("Background saving started by pid {}", self.process.pid));
        id
    }

    /// FLUSHALL (Redis's `flushAllDataAndResetRDB`): empty every db, abandon a running
    /// BGSAVE (its file would hold the old data), and with save points configured save the
    /// empty dataset at once, so the changes since the last save count from zero.
    pub fn flush_all_and_reset_rdb(&mut self) {
        self.all_keys_modified(None);
        self.persist.dirty += self.keyspace.total_keys() as u64;
        self.keyspace.flush_all();
        if self.persist.bgsave_job.is_some() {
            self.abandon_bgsave();
        }
        if !self.config.save_points().is_empty() {
            self.start_persist(false, PersistPurpose::Flushall);
            self.persist.dirty = 0;
        }
    }

    /// Give up a running BGSAVE (Redis kills its child with SIGUSR1): its result, when the
    /// driver reports it, is ignored. A snapshot made for replicas is left to finish.
    pub(crate) fn abandon_bgsave(&mut self) {
        let Some(job) = self.persist.bgsave_job else { return };
        let background = self.persist.jobs.iter().any(|(id, p)| *id == job && *p == PersistPurpose::Background);
        if background {
            self.kill_bgsave(job);
        }
    }

    /// Kill the running background save `job`, whatever it was for (Redis's `killRDBChild`,
    /// then `backgroundSaveDoneHandler` seeing SIGUSR1).
    pub(crate) fn kill_bgsave(&mut self, job: u64) {
        self.persist.jobs.retain(|(id, _)| *id != job);
        if self.persist.bgsave_job == Some(job) {
            self.persist.bgsave_job = None;
            self.persist.bgsave_started_ms = None;
        }
        self.outputs.push_back(Output::CancelPersist { job });
        self.log(LogLevel::Warning, "Background saving terminated by signal 10");
    }

    /// SAVE: a foreground save; the reply is sent when the driver reports the write.
    pub fn start_foreground_save(&mut self, conn: ConnId) {
        self.start_persist(false, PersistPurpose::Save { conn });
    }

    pub(super) fn persist_done(&mut self, job: u64, result: Result<usize, String>, image: Option<Bytes>) {
        let Some(pos) = self.persist.jobs.iter().position(|(id, _)| *id == job) else { return };
        let (_, purpose) = self.persist.jobs.remove(pos);
        match purpose {
            PersistPurpose::Sync => {
                // A snapshot for replicas on disk is also this node's BGSAVE.
                if self.persist.bgsave_job == Some(job) {
                    self.bgsave_finished(&result);
                }
                self.sync_snapshot_ready(job, if result.is_ok() { image } else { None });
            }
            PersistPurpose::Background => self.bgsave_finished(&result),
            PersistPurpose::Flushall => {
                let dirty = self.persist.dirty;
                self.record_save(&result, false);
                // Writes after the FLUSHALL still wait for the next save.
                self.persist.dirty = dirty;
            }
            PersistPurpose::Save { conn } => {
                self.record_save(&result, false);
                if let Some(c) = self.clients.get_mut(&conn) {
                    match &result {
                        Ok(_) => c.reply.ok(),
                        Err(_) => c.reply.error("ERR"),
                    }
                    self.io_done(conn);
                }
            }
            PersistPurpose::Shutdown => {
                self.record_save(&result, false);
                self.shutdown_save_done(result.is_ok());
            }
        }
    }

    /// Log a finished save and keep INFO persistence's books: the changes it covered, when,
    /// and whether it worked.
    pub(super) fn record_save(&mut self, result: &Result<usize, String>, background: bool) {
        match result {
            Ok(_) => {
                self.log(LogLevel::Notice, "DB saved on disk");
                if background {
                    self.log(LogLevel::Notice, "Background saving terminated with success");
                    // Writes made while the snapshot was written still wait for the next save.
                    self.persist.dirty = self.persist.dirty.saturating_sub(self.persist.dirty_at_bgsave_start);
                } else {
                    self.persist.dirty = 0;
                }
                self.persist.last_save_ms = self.now;
                self.persist.rdb_saves += 1;
                self.persist.last_bgsave_ok = true;
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {}",
                        self.process.pid,
                        self.config.get_str("dir"),
                        e
                    ),
                );
                // Only a background save's failure stops writes (`lastbgsave_status`); a
                // foreground SAVE or the final save at shutdown just fails.
                if background {
                    self.log(LogLevel::Warning, "Background saving error");
                    self.persist.last_bgsave_ok = false;
                }
            }
        }
    }

    /// A background save to disk ended (BGSAVE, a save point, or a snapshot for replicas).
    pub(super) fn bgsave_finished(&mut self, result: &Result<usize, String>) {
        self.record_save(result, true);
        if let Some(start) = self.persist.bgsave_started_ms.take() {
            self.persist.last_bgsave_duration_ms = Some(self.now.saturating_sub(start));
        }
        self.persist.bgsave_job = None;
        if self.persist.bgsave_scheduled {
            self.persist.bgsave_scheduled = false;
            self.start_bgsave();
        }
        // Replicas may have waited for this save to end.
        self.start_pending_sync();
    }
}

impl Node {
    /// Load an RDB image: our own dump.rdb, or (`from_master`) a full-resync snapshot.
    ///
    /// Loading our own file also restores where its dataset stands in a replication stream
    /// (Redis's `loadDataFromDisk`). A replica takes the stream's id and offset as a cached
    /// master, to ask its master for a partial resync. A master keeps the file's id as its
    /// *previous* id (`master_replid2`), valid up to the file's offset, so the replicas it had
    /// before the restart can continue too; keys that expired while it was down go into its
    /// backlog as `DEL`s, after that offset.
    pub(crate) fn load_rdb_image(&mut self, data: &[u8], from_master: bool) -> Result<usize, String> {
        let loaded =
            rdb::decode_rdb(data, &crate::keyspace::EncodingLimits::from_config(&self.srv.config)).map_err(|e| e.0)?;
        // A replica keeps keys whose deadline passed: its master will send their DEL.
        let keep_expired = self.srv.repl.is_replica();
        let save_info = if from_master { None } else { loaded.aux.repl_save_info() };
        let master_restart = !from_master && !keep_expired;
        if master_restart {
            self.srv.create_backlog();
        }
        let now = self.srv.now;
        // Loaded keys count as accessed now (the file keeps no idle times in the lab).
        let clock = crate::keyspace::access::AccessClock { policy: self.srv.access_policy, now_ms: now };
        self.srv.keyspace.set_clock(clock);
        let mut keys = 0;
        let mut expired = 0;
        for (dbi, entries) in loaded.dbs {
            if dbi >= self.srv.keyspace.dbs.len() {
                return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting", self.srv.keyspace.dbs.len()));
            };
            for (key, value, expire) in entries {
                if let Some(at) = expire {
                    if at <= now && !keep_expired {
                        expired += 1;
                        if master_restart {
                            self.srv.propagate(dbi, &[b"DEL", &key]);
                        }
                        continue;
                    }
                    let db = &mut self.srv.keyspace.dbs[dbi];
                    db.set(key.clone(), value);
                    db.set_expire(&key, at);
                } else {
                    self.srv.keyspace.dbs[dbi].set(key, value);
                }
                keys += 1;
            }
        }
        self.srv.persist.last_load_keys_loaded = keys as u64;
        self.srv.persist.last_load_keys_expired = expired;
        if let Some(ver) = loaded.aux.get("redis-ver") {
            self.srv.log(LogLevel::Notice, format!("Loading RDB produced by version {}", ver));
        }
        if let Some(ctime) = loaded.aux.get("ctime").and_then(|c| c.parse::<u64>().ok()) {
            self.srv.log(LogLevel::Notice, format!("RDB age {} seconds", (now / 1000).saturating_sub(ctime)));
        }
        self.srv.log(
            LogLevel::Notice,
            format!(
                "RDB memory usage when created {:.2} Mb",
                loaded.aux.get("used-mem").and_then(|m| m.parse::<f64>().ok()).unwrap_or(0.0) / (1024.0 * 1024.0)
            ),
        );
        self.srv.log(LogLevel::Notice, format!("Done loading RDB, keys loaded: {}, keys expired: {}.", keys, expired));
        match save_info {
            Some(info) if keep_expired => {
                // The start-up: no stream of ours yet, the file's becomes it.
                debug_assert_eq!(self.srv.repl.offset, 0, "a replica takes its dump.rdb's stream before any other");
                self.srv.repl.replid = info.replid.clone();
                self.srv.repl.offset = info.offset;
                self.srv.repl.cached_master = Some(crate::replication::CachedMaster {
                    replid: info.replid,
                    offset: info.offset,
                    db: info.stream_db,
                });
                self.srv.log(
                    LogLevel::Notice,
                    "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
                );
            }
            Some(info) if master_restart => self.srv.continue_saved_stream(&info),
            _ if master_restart => self.srv.repl.backlog = None,
            _ => {}
        }
        Ok(keys)
    }
}
