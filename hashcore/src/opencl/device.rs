//! One OpenCL device: context, queue, compiled kernels, the table in device memory, and the
//! double-buffered launch slots.

use super::{cl_err, kernel_cache, DeviceInfo, KERNEL_SOURCE};
use crate::error::{Error, Result};
use crate::hash::prefix_state_words;
use crate::params::HASH_SIZE;
use crate::table::Table;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::Device;
use opencl3::event::Event;
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::program::Program;
use opencl3::types::{cl_uchar, cl_uint, cl_ulong, CL_BLOCKING, CL_NON_BLOCKING};
use std::ptr;
use std::sync::Arc;

/// Bytes a device needs beside the table (buffers, kernels, driver reserves).
const HEADROOM: u64 = 64 << 20;

/// Refuses a device that cannot hold the table, saying why.
pub fn check_capacity(d: &DeviceInfo, table_len: u64) -> Result<()> {
    if d.max_alloc < table_len {
        return Err(Error::Backend(format!(
            "OpenCL device {} ({}) cannot hold the {} MiB LXRHash table: its largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) is {} MiB",
            d.index, d.name, table_len >> 20, d.max_alloc >> 20
        )));
    }
    if d.global_mem < table_len + HEADROOM {
        return Err(Error::Backend(format!(
            "OpenCL device {} ({}) cannot hold the {} MiB LXRHash table: it has {} MiB of global memory",
            d.index, d.name, table_len >> 20, d.global_mem >> 20
        )));
    }
    Ok(())
}

/// A launch slot: the buffers one in-flight `mine` launch writes, and their host copies.
struct Slot {
    results: Buffer<cl_ulong>,
    count: Buffer<cl_uint>,
    host_results: Vec<cl_ulong>,
    host_count: Vec<cl_uint>,
    done: Option<Event>,
}

/// A device ready to hash with one table.
pub struct DeviceRunner {
    table: Arc<Table>,
    _context: Context,
    queue: CommandQueue,
    mine: Kernel,
    hash: Kernel,
    reads: Kernel,
    compute_units: usize,
    table_buf: Buffer<cl_uchar>,
    pre: Buffer<cl_ulong>,
    prefix_buf: Buffer<cl_uchar>,
    prefix: Vec<u8>,
    slots: Vec<Slot>,
    pub(crate) max_results: usize,
}

// SAFETY: OpenCL objects may be used from any thread; each runner is used by one thread at a time
// (it sits behind a Mutex).
unsafe impl Send for DeviceRunner {}

const MAX_PREFIX: usize = 256;

impl DeviceRunner {
    /// Builds the kernels (from the cache when possible) and uploads the table.
    pub fn new(
        info: DeviceInfo,
        table: Arc<Table>,
        max_results: usize,
        slots: usize,
    ) -> Result<Self> {
        check_capacity(&info, table.len() as u64)?;
        let device = Device::new(info.id as _);
        let context = Context::from_device(&device).map_err(|e| cl_err("creating a context", e))?;
        let queue = CommandQueue::create_default_with_properties(&context, 0, 0)
            .map_err(|e| cl_err("creating a command queue", e))?;
        let program = build_program(&context, &info)?;
        let mine = Kernel::create(&program, "mine").map_err(|e| cl_err("kernel mine", e))?;
        let hash =
            Kernel::create(&program, "hash_nonces").map_err(|e| cl_err("kernel hash_nonces", e))?;
        let reads = Kernel::create(&program, "random_reads")
            .map_err(|e| cl_err("kernel random_reads", e))?;
        // SAFETY: plain buffer creation without host pointers.
        let mut table_buf = unsafe {
            Buffer::<cl_uchar>::create(&context, CL_MEM_READ_ONLY, table.len(), ptr::null_mut())
                .map_err(|e| cl_err("allocating the table on the device", e))?
        };
        // SAFETY: blocking write from a live slice.
        unsafe {
            queue
                .enqueue_write_buffer(&mut table_buf, CL_BLOCKING, 0, table.as_bytes(), &[])
                .map_err(|e| cl_err("uploading the table", e))?;
        }
        // SAFETY: as above.
        let (pre, prefix_buf) = unsafe {
            (
                Buffer::<cl_ulong>::create(
                    &context,
                    CL_MEM_READ_ONLY,
                    4 + HASH_SIZE,
                    ptr::null_mut(),
                )
                .map_err(|e| cl_err("allocating", e))?,
                Buffer::<cl_uchar>::create(&context, CL_MEM_READ_ONLY, MAX_PREFIX, ptr::null_mut())
                    .map_err(|e| cl_err("allocating", e))?,
            )
        };
        let mut slot_vec = Vec::with_capacity(slots);
        for _ in 0..slots {
            // SAFETY: as above.
            let (results, count) = unsafe {
                (
                    Buffer::<cl_ulong>::create(
                        &context,
                        CL_MEM_READ_WRITE,
                        2 * max_results,
                        ptr::null_mut(),
                    )
                    .map_err(|e| cl_err("allocating", e))?,
                    Buffer::<cl_uint>::create(&context, CL_MEM_READ_WRITE, 1, ptr::null_mut())
                        .map_err(|e| cl_err("allocating", e))?,
                )
            };
            slot_vec.push(Slot {
                results,
                count,
                host_results: vec![0; 2 * max_results],
                host_count: vec![0],
                done: None,
            });
        }
        let mut r = DeviceRunner {
            table,
            _context: context,
            queue,
            mine,
            hash,
            reads,
            compute_units: info.compute_units.max(1) as usize,
            table_buf,
            pre,
            prefix_buf,
            prefix: Vec::new(),
            slots: slot_vec,
            max_results,
        };
        r.set_prefix(&[])?;
        Ok(r)
    }

    /// Uploads a job's prefix and its pass-1 state (queued after any launch already enqueued).
    pub fn set_prefix(&mut self, prefix: &[u8]) -> Result<()> {
        if prefix.len() > MAX_PREFIX {
            return Err(Error::Backend(format!(
                "prefix of {} bytes is too long for the OpenCL kernel",
                prefix.len()
            )));
        }
        let words = prefix_state_words(&self.table, prefix);
        let mut padded = [0u8; MAX_PREFIX];
        padded[..prefix.len()].copy_from_slice(prefix);
        // SAFETY: blocking writes from live arrays.
        unsafe {
            self.queue
                .enqueue_write_buffer(&mut self.pre, CL_BLOCKING, 0, &words, &[])
                .map_err(|e| cl_err("uploading the prefix state", e))?;
            self.queue
                .enqueue_write_buffer(&mut self.prefix_buf, CL_BLOCKING, 0, &padded, &[])
                .map_err(|e| cl_err("uploading the prefix", e))?;
        }
        self.prefix.clear();
        self.prefix.extend_from_slice(prefix);
        Ok(())
    }

    fn mask(&self) -> cl_ulong {
        (self.table.len() - 1) as cl_ulong
    }

    /// Enqueues a `mine` launch over counters `base..base+n` (all with `clen` counter bytes) into
    /// `slot`, without waiting.
    pub fn launch(
        &mut self,
        slot: usize,
        id: u8,
        base: u64,
        clen: usize,
        n: usize,
        threshold: u64,
    ) -> Result<()> {
        let mask = self.mask();
        let plen = self.prefix.len() as cl_uint;
        let max = self.max_results as cl_uint;
        let s = &mut self.slots[slot];
        // SAFETY: kernel arguments match the kernel's signature; the host vectors of the
        // non-blocking reads live in `self` and are not touched until `finish` waits for `done`.
        unsafe {
            self.queue
                .enqueue_fill_buffer(&mut s.count, &[0u32], 0, 4, &[])
                .map_err(|e| cl_err("clearing the result count", e))?;
            ExecuteKernel::new(&self.mine)
                .set_arg(&self.table_buf)
                .set_arg(&mask)
                .set_arg(&self.pre)
                .set_arg(&self.prefix_buf)
                .set_arg(&plen)
                .set_arg(&id)
                .set_arg(&base)
                .set_arg(&(clen as cl_uint))
                .set_arg(&threshold)
                .set_arg(&s.results)
                .set_arg(&s.count)
                .set_arg(&max)
                .set_global_work_size(n)
                .enqueue_nd_range(&self.queue)
                .map_err(|e| cl_err("launching the mining kernel", e))?;
            self.queue
                .enqueue_read_buffer(&s.count, CL_NON_BLOCKING, 0, &mut s.host_count, &[])
                .map_err(|e| cl_err("reading results", e))?;
            let ev = self
                .queue
                .enqueue_read_buffer(&s.results, CL_NON_BLOCKING, 0, &mut s.host_results, &[])
                .map_err(|e| cl_err("reading results", e))?;
            s.done = Some(ev);
        }
        Ok(())
    }

    /// Waits for `slot`'s launch; returns its (counter, difficulty) results and whether more
    /// results qualified than fit.
    pub fn finish(&mut self, slot: usize) -> Result<(Vec<(u64, u64)>, bool)> {
        let s = &mut self.slots[slot];
        if let Some(ev) = s.done.take() {
            ev.wait()
                .map_err(|e| cl_err("waiting for the mining kernel", e))?;
        }
        let count = s.host_count[0] as usize;
        let got = count.min(self.max_results);
        let out = (0..got)
            .map(|k| (s.host_results[2 * k], s.host_results[2 * k + 1]))
            .collect();
        Ok((out, count > self.max_results))
    }

    /// Random 1-byte reads per second the device sustains over the table (many independent chains),
    /// measured for about `secs`.
    pub fn random_read_rate(&mut self, secs: f64) -> Result<f64> {
        let items = self.compute_units * 2048;
        let mask = self.mask();
        // SAFETY: a one-word sink buffer; kernel arguments match the signature.
        let sink = unsafe {
            Buffer::<cl_ulong>::create(&self._context, CL_MEM_READ_WRITE, 1, ptr::null_mut())
                .map_err(|e| cl_err("allocating", e))?
        };
        let run = |steps: u32| -> Result<f64> {
            let started = std::time::Instant::now();
            // SAFETY: as above.
            unsafe {
                ExecuteKernel::new(&self.reads)
                    .set_arg(&self.table_buf)
                    .set_arg(&mask)
                    .set_arg(&steps)
                    .set_arg(&sink)
                    .set_global_work_size(items)
                    .enqueue_nd_range(&self.queue)
                    .map_err(|e| cl_err("launching the read kernel", e))?
                    .wait()
                    .map_err(|e| cl_err("waiting for the read kernel", e))?;
            }
            Ok(started.elapsed().as_secs_f64())
        };
        // Calibrate the chain length so one launch takes ~1/5 of the time, then measure.
        let mut steps = 64u32;
        while run(steps)? < secs / 20.0 && steps < (1 << 24) {
            steps *= 2;
        }
        let (mut reads, mut time) = (0f64, 0f64);
        while time < secs {
            time += run(steps)?;
            reads += items as f64 * steps as f64;
        }
        Ok(reads / time)
    }

    /// Full hashes of `prefix ‖ nonce` for equal-length nonces (flat buffer). Restores the job's
    /// prefix afterwards.
    pub fn hash_nonces(
        &mut self,
        prefix: &[u8],
        nonces: &[u8],
        nlen: usize,
    ) -> Result<Vec<[u8; HASH_SIZE]>> {
        let n = nonces.len().checked_div(nlen).unwrap_or(0);
        if n == 0 || nlen > 16 {
            return Err(Error::Backend(
                "hash_nonces needs 1 to 16-byte nonces".into(),
            ));
        }
        let saved = std::mem::take(&mut self.prefix);
        self.set_prefix(prefix)?;
        let mask = self.mask();
        let plen = prefix.len() as cl_uint;
        let mut host = vec![0u8; n * HASH_SIZE];
        // SAFETY: buffers sized for n items; blocking transfers from/to live vectors.
        unsafe {
            let mut nb = Buffer::<cl_uchar>::create(
                &self._context,
                CL_MEM_READ_ONLY,
                nonces.len(),
                ptr::null_mut(),
            )
            .map_err(|e| cl_err("allocating", e))?;
            let out = Buffer::<cl_uchar>::create(
                &self._context,
                CL_MEM_READ_WRITE,
                n * HASH_SIZE,
                ptr::null_mut(),
            )
            .map_err(|e| cl_err("allocating", e))?;
            self.queue
                .enqueue_write_buffer(&mut nb, CL_BLOCKING, 0, nonces, &[])
                .map_err(|e| cl_err("uploading nonces", e))?;
            ExecuteKernel::new(&self.hash)
                .set_arg(&self.table_buf)
                .set_arg(&mask)
                .set_arg(&self.pre)
                .set_arg(&self.prefix_buf)
                .set_arg(&plen)
                .set_arg(&nb)
                .set_arg(&(nlen as cl_uint))
                .set_arg(&out)
                .set_global_work_size(n)
                .enqueue_nd_range(&self.queue)
                .map_err(|e| cl_err("launching the hash kernel", e))?;
            self.queue
                .enqueue_read_buffer(&out, CL_BLOCKING, 0, &mut host, &[])
                .map_err(|e| cl_err("reading hashes", e))?;
        }
        self.set_prefix(&saved)?;
        Ok(host
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; HASH_SIZE];
                h.copy_from_slice(c);
                h
            })
            .collect())
    }
}

fn build_program(context: &Context, info: &DeviceInfo) -> Result<Program> {
    let options = "";
    let cache = kernel_cache::path(
        KERNEL_SOURCE,
        &info.name,
        &info.driver,
        &info.platform_name,
        options,
    );
    if let Some(bin) = cache.as_ref().and_then(kernel_cache::load) {
        match Program::create_and_build_from_binary(context, &[&bin], options) {
            Ok(p) => {
                tracing::debug!(device = %info.name, "OpenCL kernel loaded from the cache");
                return Ok(p);
            }
            Err(e) => {
                tracing::debug!(device = %info.name, "cached OpenCL kernel unusable ({e:?}); recompiling")
            }
        }
    }
    let started = std::time::Instant::now();
    let program =
        Program::create_and_build_from_source(context, KERNEL_SOURCE, options).map_err(|log| {
            Error::Backend(format!(
                "OpenCL: compiling the kernel for {} failed: {log}",
                info.name
            ))
        })?;
    tracing::info!(device = %info.name, seconds = started.elapsed().as_secs_f64(), "OpenCL kernel compiled");
    if let (Some(path), Ok(bins)) = (cache, program.get_binaries()) {
        if let Some(b) = bins.first().filter(|b| !b.is_empty()) {
            kernel_cache::store(&path, b);
        }
    }
    Ok(program)
}
