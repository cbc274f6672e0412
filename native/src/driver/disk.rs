//! Disk work the node asks for: writing dump.rdb (atomically, on a blocking thread for a
//! background save), as `rdbSave` does.

use super::*;

/// The node's input for a finished persist job.
pub(super) fn persist_done(job: u64, outcome: Result<(usize, Option<Bytes>), String>) -> Input<'static> {
    match outcome {
        Ok((bytes, image)) => Input::PersistDone { job, result: Ok(bytes), image },
        Err(e) => Input::PersistDone { job, result: Err(e), image: None },
    }
}

/// Serialize a snapshot and write it atomically (temp file + rename), as rdbSave does; hand
/// the image back when the job asks (a snapshot for replicas). A job `killed` meanwhile
/// writes nothing.
pub(super) fn write_rdb(job: &PersistJob, killed: &AtomicBool) -> Result<(usize, Option<Bytes>), String> {
    let image = rdb::encode_rdb(&job.snapshot, &job.aux);
    // `rdb-key-save-delay`'s extra time, in slices, so that a kill ends it.
    let mut extra = Duration::from_micros(job.extra_duration_us());
    while !extra.is_zero() && !killed.load(Ordering::Relaxed) {
        let slice = extra.min(Duration::from_millis(10));
        std::thread::sleep(slice);
        extra -= slice;
    }
    if killed.load(Ordering::Relaxed) {
        return Err("killed".into());
    }
    let len = image.len();
    if !job.write_file {
        return Ok((len, Some(Bytes::from(image))));
    }
    let path = std::path::Path::new(&job.path);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!("temp-{}-{}.rdb", std::process::id(), job.id));
    let mut f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
    f.write_all(&image).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
    Ok((len, job.return_image.then(|| Bytes::from(image))))
}
