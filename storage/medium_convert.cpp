// convert_medium: copies any medium into a new VDI or raw file, block by
// block, leaving unallocated and all-zero blocks out of the output.
//
// The output's data goes out with O_DIRECT from the copy buffers. Buffered
// writes would take 1 GiB of fresh page cache per GiB converted; on this
// VM host (virtio-balloon free page reporting) freed guest memory is handed
// back to the host, and touching it again costs a host fault per page,
// which held buffered output to 230-360 MiB/s whenever the memory had been
// free for more than about 2 s (1.5-2.4 GiB/s right after a free). Direct
// writes reuse the same few buffers and run at the device's 1.3-1.6 GiB/s
// either way, leave no dirty cache behind, and make the final flush cheap.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/errors.hpp"
#include "storage/file_io.hpp"
#include "storage/medium_image.hpp"
#include "storage/medium_ops.hpp"
#include "storage/vdi_format.hpp"

namespace tb::storage {

namespace {

constexpr uint64_t chunk_blocks = 4;    // Blocks (MiB) per read and write.
constexpr size_t copy_threads = 4;      // Reads and writes overlap on 2 cores.
constexpr uint64_t direct_align = 4096; // Offsets, lengths and buffers.

// The output side: where each block of data goes, and what closes the file.
// put() may run on several threads at once.
class output_file {
public:
  output_file(int fd, std::string path, medium_format format, bool fixed,
              uint64_t size, const uuid& id)
      : fd_(fd), path_(std::move(path)), format_(format), fixed_(fixed),
        size_(size) {
    if (format_ == medium_format::vdi) {
      header_ = make_vbox_header(size, fixed, id);
      map_.assign(header_.blocks, vdi_block_free);
      for (uint32_t i = 0; fixed && i < header_.blocks; ++i)
        map_[i] = i;
    }
  }

  uint32_t block_size() const { return vdi_default_block_size; }

  caf::error start() {
    // Without O_DIRECT support (tmpfs before Linux 6.6, some FUSE file
    // systems) everything goes through fd_.
    direct_ = unique_fd{::open(path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC)};
    uint64_t end = format_ == medium_format::vdi
                       ? header_.file_size_for(header_.blocks_allocated)
                       : size_;
    // A dynamic VDI gets room for every block at once (sparse; finish()
    // trims it): direct writes past EOF are "extending" on ext4, which
    // journals the size of each and waits for it.
    uint64_t room = format_ == medium_format::vdi && !fixed_
                        ? header_.file_size_for(header_.blocks)
                        : end;
    if (::ftruncate(fd_, static_cast<off_t>(room)) != 0
        && ::ftruncate(fd_, static_cast<off_t>(end)) != 0) // EFBIG
      return make_io_error("sizing " + path_, errno);
    uint64_t from = format_ == medium_format::vdi ? header_.offset_data : 0;
    if (fixed_ && end > from
        && ::fallocate(fd_, 0, static_cast<off_t>(from),
                       static_cast<off_t>(end - from))
               != 0
        && errno != EOPNOTSUPP)
      return make_io_error("preallocating " + path_, errno);
    return {};
  }

  /// Writes `data` (whole blocks from block `first`, the last possibly
  /// short at the end of the disk).
  caf::error put(uint64_t first, std::span<const uint8_t> data) {
    if (format_ != medium_format::vdi)
      return write_data(data, first * block_size());
    if (fixed_)
      return write_data(data, header_.data_offset(first));
    // Dynamic VDI: a run of blocks gets consecutive data blocks, so it
    // stays one write; the map is only written at the end.
    uint64_t count = (data.size() + block_size() - 1) / block_size();
    uint32_t n;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      n = header_.blocks_allocated;
      header_.blocks_allocated = static_cast<uint32_t>(n + count);
    }
    for (uint64_t i = 0; i < count; ++i)
      map_[first + i] = static_cast<uint32_t>(n + i);
    return write_data(data, header_.data_offset(n));
  }

  /// Sizes the file to whole blocks, writes the map and then the header,
  /// and flushes when `durable`.
  caf::error finish(bool durable) {
    // Durable: the data reaches the disk before the map that points at it.
    if (durable)
      if (auto err = sync_data(fd_, path_))
        return err;
    if (format_ == medium_format::vdi) {
      // Short tail blocks are padded to a whole block as VBox and QEMU
      // expect.
      auto end = header_.file_size_for(header_.blocks_allocated);
      if (::ftruncate(fd_, static_cast<off_t>(end)) != 0)
        return make_io_error("sizing " + path_, errno);
      std::span<const uint8_t> map{
          reinterpret_cast<const uint8_t*>(map_.data()), map_.size() * 4};
      if (auto err = pwrite_full(fd_, map, header_.offset_blocks, path_))
        return err;
      std::vector<uint8_t> head(vdi_pre_header_size + header_.header_size);
      encode_vdi_header(header_, head);
      if (auto err = pwrite_full(fd_, head, 0, path_))
        return err;
    }
    return durable ? sync_data(fd_, path_) : caf::error{};
  }

private:
  // Whole pages go through direct_; a short tail (the last piece of a disk
  // whose size is no multiple of 4 KiB) starts on a page of its own, so the
  // page cache never holds a page that a direct write also covers.
  caf::error write_data(std::span<const uint8_t> data, uint64_t offset) {
    size_t whole = data.size() / direct_align * direct_align;
    if (direct_ && whole > 0 && offset % direct_align == 0
        && reinterpret_cast<uintptr_t>(data.data()) % direct_align == 0) {
      if (auto err =
              pwrite_full(direct_.get(), data.first(whole), offset, path_))
        return err;
      data = data.subspan(whole);
      offset += whole;
    }
    return data.empty() ? caf::error{} : pwrite_full(fd_, data, offset, path_);
  }

  int fd_;
  unique_fd direct_; ///< O_DIRECT twin of fd_, or none.
  std::string path_;
  medium_format format_;
  bool fixed_;
  uint64_t size_;
  std::mutex mutex_; ///< Guards header_.blocks_allocated during the copy.
  vdi_header header_;
  std::vector<uint32_t> map_; ///< Each entry written by one thread only.
};

// Reports percent steps of the bytes done so far, each value once, from
// whichever thread finishes a piece.
class progress_meter {
public:
  progress_meter(const progress_fn& fn, uint64_t total)
      : fn_(fn), total_(total) {}
  void add(uint64_t bytes) {
    std::lock_guard<std::mutex> guard{mutex_};
    done_ += bytes;
    int pct = total_ ? static_cast<int>(done_ * 100 / total_) : 100;
    if (fn_ && pct > last_)
      fn_(last_ = pct);
  }

private:
  const progress_fn& fn_;
  uint64_t total_;
  std::mutex mutex_;
  uint64_t done_ = 0; ///< Guarded by mutex_.
  int last_ = -1;     ///< Guarded by mutex_.
};

// A range of blocks the source may hold data in.
struct work_item {
  uint64_t first;
  uint64_t count;
};

// Splits the source into chunks of data blocks; whole blocks inside zero
// extents are skipped without reading (they count as done at once).
std::vector<work_item> plan(medium_image& src, uint64_t bs,
                            uint64_t& skipped_bytes) {
  uint64_t size = src.size();
  uint64_t blocks = (size + bs - 1) / bs;
  std::vector<work_item> items;
  skipped_bytes = 0;
  for (uint64_t b = 0; b < blocks;) {
    uint64_t run = 0;
    auto kind = src.extent_at(b * bs, &run);
    uint64_t skip = 0;
    if (kind == extent_kind::zero)
      skip = b * bs + run >= size ? blocks - b : run / bs;
    if (skip > 0) {
      skipped_bytes += std::min(skip * bs, size - b * bs);
      b += skip;
      continue;
    }
    uint64_t count = std::min(chunk_blocks, blocks - b);
    if (kind == extent_kind::data)
      count = std::min(count, std::max<uint64_t>(1, (run + bs - 1) / bs));
    items.push_back({b, count});
    b += count;
  }
  return items;
}

// The source file opened twice more, for reads that bypass the medium:
// ranges the page cache holds (mincore on a mapping, which faults nothing
// in) are copied from the cache, the rest is read with O_DIRECT. Cold data
// read through the cache would cost fresh page cache, as slow here as
// buffered output (see the top); preadv2(RWF_NOWAIT) is no probe, it
// starts readahead into the cache.
class source_reader {
public:
  explicit source_reader(medium_image& src)
      : src_(src), plain_(::open(src.path().c_str(), O_RDONLY | O_CLOEXEC)),
        direct_(::open(src.path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC)) {
    auto size = plain_ ? file_size(plain_.get(), src.path()) : 0;
    if (size && *size > 0) {
      void* p = ::mmap(nullptr, *size, PROT_READ, MAP_SHARED, plain_.get(), 0);
      if (p != MAP_FAILED) {
        map_ = static_cast<uint8_t*>(p);
        map_len_ = *size;
      }
    }
  }

  ~source_reader() {
    if (map_)
      ::munmap(map_, map_len_);
  }

  source_reader(const source_reader&) = delete;
  source_reader& operator=(const source_reader&) = delete;

  /// Reads `data.size()` bytes of the medium at `offset`; safe on several
  /// threads at once (`extents` and `pages` are the caller's scratch).
  caf::error read(uint64_t offset, std::span<uint8_t> data,
                  std::vector<file_extent>& extents,
                  std::vector<unsigned char>& pages) const {
    extents.clear();
    if (!map_ || !direct_ || !src_.map_read(offset, data.size(), extents))
      return src_.read(offset, data);
    for (const auto& e : extents) {
      auto piece = data.first(e.length);
      if (e.zero)
        std::memset(piece.data(), 0, piece.size());
      else if (auto err = read_file(e.file_offset, piece, pages))
        return err;
      data = data.subspan(e.length);
    }
    return {};
  }

private:
  bool cached(uint64_t off, size_t len,
              std::vector<unsigned char>& pages) const {
    uint64_t first = off / page_size;
    uint64_t end = std::min<uint64_t>((off + len + page_size - 1) / page_size,
                                      (map_len_ + page_size - 1) / page_size);
    if (end <= first)
      return true; // Past the end: pread_full reads zeros.
    pages.resize(end - first);
    if (::mincore(map_ + first * page_size, (end - first) * page_size,
                  pages.data())
        != 0)
      return true; // Cannot tell: the cache is always right.
    return std::all_of(pages.begin(), pages.end(),
                       [](unsigned char c) { return (c & 1) != 0; });
  }

  caf::error read_file(uint64_t off, std::span<uint8_t> out,
                       std::vector<unsigned char>& pages) const {
    size_t done = 0;
    // Whole sectors directly unless all cached; any tail through the cache
    // (pread_full also reads past EOF as zeros).
    size_t whole = out.size() / direct_align * direct_align;
    if (off % direct_align == 0 && whole > 0
        && reinterpret_cast<uintptr_t>(out.data()) % direct_align == 0
        && !cached(off, out.size(), pages)) {
      if (auto err =
              pread_full(direct_.get(), out.first(whole), off, src_.path()))
        return err;
      done = whole;
    }
    if (done == out.size())
      return {};
    return pread_full(plain_.get(), out.subspan(done), off + done, src_.path());
  }

  static constexpr uint64_t page_size = 4096;
  medium_image& src_;
  unique_fd plain_;
  unique_fd direct_;
  uint8_t* map_ = nullptr; ///< Never touched: only for mincore.
  uint64_t map_len_ = 0;
};

// Copies one item, writing runs of non-zero blocks with one call each.
caf::error copy_item(const source_reader& src, uint64_t src_size,
                     output_file& out, work_item item,
                     const aligned_buffer& buf,
                     std::vector<file_extent>& extents,
                     std::vector<unsigned char>& pages) {
  uint64_t bs = out.block_size();
  uint64_t begin = item.first * bs;
  uint64_t len = std::min(item.count * bs, src_size - begin);
  std::span<uint8_t> data{buf.data(), len};
  if (auto err = src.read(begin, data, extents, pages))
    return err;
  uint64_t run_start = 0, run_len = 0;
  for (uint64_t off = 0; off < len; off += bs) {
    auto piece = data.subspan(off, std::min(bs, len - off));
    if (!all_zero(piece)) {
      if (run_len == 0)
        run_start = off;
      run_len += piece.size();
      continue;
    }
    if (run_len > 0)
      if (auto err = out.put(item.first + run_start / bs,
                             data.subspan(run_start, run_len)))
        return err;
    run_len = 0;
  }
  if (run_len > 0)
    return out.put(item.first + run_start / bs,
                   data.subspan(run_start, run_len));
  return {};
}

caf::error copy_all(medium_image& src, output_file& out,
                    const progress_fn& progress) {
  uint64_t bs = out.block_size();
  uint64_t skipped = 0;
  auto items = plan(src, bs, skipped);
  progress_meter meter{progress, src.size()};
  meter.add(skipped);
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  caf::error first_error; // Guarded by error_mutex.
  std::atomic<bool> failed{false};
  source_reader reader{src};
  auto worker = [&] {
    aligned_buffer buf(chunk_blocks * bs);
    std::vector<file_extent> extents;
    std::vector<unsigned char> pages;
    for (size_t i; !failed && (i = next++) < items.size();) {
      if (auto err = copy_item(reader, src.size(), out, items[i], buf, extents,
                               pages)) {
        std::lock_guard<std::mutex> guard{error_mutex};
        if (!first_error)
          first_error = std::move(err);
        failed = true;
        return;
      }
      meter.add(
          std::min(items[i].count * bs, src.size() - items[i].first * bs));
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(copy_threads, items.size()); ++t)
    threads.emplace_back(worker);
  worker();
  for (auto& t : threads)
    t.join();
  return first_error;
}

} // namespace

caf::expected<medium_info>
convert_medium(const std::string& src_path, const std::string& dst_path,
               medium_format format, medium_variant variant,
               const progress_fn& progress, const uuid* id, bool durable) {
  if (format == medium_format::iso)
    return make_storage_error(storage_errc::unsupported,
                              "cannot write " + dst_path
                                  + ": ISO is a read-only format");
  open_options options;
  options.lock_shared = true;
  options.owner = "clonemedium";
  auto src = open_medium(src_path, options);
  if (!src)
    return src.error();
  uint64_t size = (*src)->size();
  if (format == medium_format::vdi && size > vdi_max_disk_size)
    return make_storage_error(storage_errc::invalid_argument,
                              "cannot convert " + src_path + ": "
                                  + std::to_string(size)
                                  + " bytes exceeds the 64 TiB VDI limit");
  unique_fd fd{
      ::open(dst_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd)
    return errno == EEXIST ? make_storage_error(
               storage_errc::exists, "medium " + dst_path + " already exists")
                           : make_io_error("creating " + dst_path, errno);
  medium_info info;
  info.id = format == medium_format::vdi ? (id ? *id : uuid::random()) : uuid{};
  info.format = format;
  info.variant = variant;
  info.logical_size = size;
  output_file out{fd.get(), dst_path, format, variant == medium_variant::fixed,
                  size,     info.id};
  caf::error err = out.start();
  if (!err)
    err = copy_all(**src, out, progress);
  if (!err)
    err = out.finish(durable);
  if (err) {
    ::unlink(dst_path.c_str());
    return err;
  }
  return info;
}

} // namespace tb::storage
