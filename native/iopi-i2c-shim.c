/*
 * libiopi-i2c-shim: a virtual Linux i2c-dev for node-red-contrib-iopi's simulated MCP23017 chips.
 *
 * Loaded with LD_PRELOAD (iopi-sim run sets it up), it makes /dev/i2c-N exist for any dynamically
 * linked glibc program (i2c-tools, Python smbus, Node's i2c-bus addon, your own C) and hands the raw
 * I2C messages of every transfer to the simulator, a Node process listening on the Unix socket named
 * by the environment variable IOPI_SIM_SOCKET. The application's fd for /dev/i2c-N *is* a connected
 * socket to the simulator; the shim keeps a per-fd table of what i2c-dev would keep per open file.
 *
 * ABI emulated (Linux drivers/i2c/i2c-dev.c and i2c-core-smbus.c, as on a Raspberry Pi):
 * - open, open64, openat, openat64, __open_2, __open64_2, __openat_2, __openat64_2 of an absolute
 *   "/dev/i2c-N": connects to the simulator and asks for bus N. A bus the simulator does not have, or
 *   a simulator that cannot be reached, fails with ENOENT (never falls through to real hardware).
 *   Without IOPI_SIM_SOCKET in the environment the shim is inert and every call goes to libc.
 *   O_CLOEXEC is honoured; mode is fetched only with O_CREAT or O_TMPFILE (variadic open).
 * - ioctl: I2C_SLAVE and I2C_SLAVE_FORCE (EINVAL above 0x7F, or above 0x3FF with I2C_TENBIT; no
 *   kernel driver ever holds an address, so never EBUSY), I2C_TENBIT, I2C_PEC, I2C_RETRIES,
 *   I2C_TIMEOUT (accepted), I2C_FUNCS (I2C | SMBus emulation incl. block read and PEC: 0x0fff8009),
 *   I2C_RDWR (1..42 messages of <= 8192 bytes each, I2C_M_RD, I2C_M_RECV_LEN checked like i2c-dev;
 *   returns the number of messages), I2C_SMBUS (sizes quick, byte, byte data, word data, proc call,
 *   block data, I2C block BROKEN (6: reads 32 bytes), block proc call, I2C block data; split into
 *   messages exactly as i2c_smbus_xfer_emulated() does, with PEC added and checked when enabled,
 *   -EBADMSG on a wrong PEC, -EPROTO on a bad block count); anything else: ENOTTY.
 * - read, __read_chk, pread, pread64: one I2C read message of up to 8192 bytes (offset ignored).
 * - write, pwrite, pwrite64: one I2C write message of up to 8192 bytes.
 * - close and syscall(SYS_close, fd) (libuv closes that way); other syscall numbers are passed on
 *   with six long arguments.
 * An address that no chip answers NACKs: the call fails with EREMOTEIO (121), as on bcm2835.
 *
 * Internals: the shim's own socket I/O uses socket/connect/send/recv, none of which it wraps. The fd
 * table is an array of entries whose `active` flag is published atomically; each entry remembers the
 * socket's inode, re-checked on every use, so an fd closed or replaced behind the shim's back (dup2,
 * close_range) is recognised and handed to libc. One process-wide mutex covers each round trip, like
 * the adapter lock of a real bus. The constructor sets UV_USE_IO_URING=0 (libuv with io_uring would
 * open and read without libc). A reply that does not come within IOPI_SIM_TIMEOUT_MS (default
 * 10000) fails the call with ETIMEDOUT, so a simulator blocked by its own client is an error, not a
 * hang.
 *
 * Wire protocol (little-endian), one request then one reply per round trip:
 *   frame   = u32 length of payload, payload
 *   request = u8 op; op 1 HELLO: u32 bus; op 2 XFER: u16 count, count x (u16 addr, u16 flags, u16 len,
 *             len data bytes unless flags & I2C_M_RD)
 *   reply   = i32 status (>= 0: ok, < 0: -errno), then for each read message: u16 len, len bytes
 *
 * Limits: glibc only (musl, static binaries and Go programs that make raw syscalls are not
 * intercepted); x86_64 and aarch64 (32-bit _TIME_BITS=64 builds would also need __ioctl_time64);
 * a dup()ed fd is not an I2C device; after fork() parent and child share one connection.
 *
 * Build: cc -shared -fPIC -O2 -Wall -o libiopi-i2c-shim.so iopi-i2c-shim.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* <linux/i2c.h> and <linux/i2c-dev.h>, spelled out so that no kernel headers are needed. */
#define I2C_RETRIES 0x0701
#define I2C_TIMEOUT 0x0702
#define I2C_SLAVE 0x0703
#define I2C_TENBIT 0x0704
#define I2C_FUNCS 0x0705
#define I2C_SLAVE_FORCE 0x0706
#define I2C_RDWR 0x0707
#define I2C_PEC 0x0708
#define I2C_SMBUS 0x0720

#define I2C_M_RD 0x0001
#define I2C_M_TEN 0x0010
#define I2C_M_RECV_LEN 0x0400
#define I2C_CLIENT_PEC 0x04

#define I2C_SMBUS_READ 1
#define I2C_SMBUS_WRITE 0
#define I2C_SMBUS_QUICK 0
#define I2C_SMBUS_BYTE 1
#define I2C_SMBUS_BYTE_DATA 2
#define I2C_SMBUS_WORD_DATA 3
#define I2C_SMBUS_PROC_CALL 4
#define I2C_SMBUS_BLOCK_DATA 5
#define I2C_SMBUS_I2C_BLOCK_BROKEN 6
#define I2C_SMBUS_BLOCK_PROC_CALL 7
#define I2C_SMBUS_I2C_BLOCK_DATA 8
#define I2C_SMBUS_BLOCK_MAX 32

#define I2C_RDWR_IOCTL_MAX_MSGS 42
#define I2C_MAX_MESSAGE 8192

/* I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL_ALL (an adapter that handles I2C_M_RECV_LEN). */
#define SHIM_FUNCS 0x0fff8009UL

struct i2c_msg {
  uint16_t addr;
  uint16_t flags;
  uint16_t len;
  uint8_t *buf;
};

struct i2c_rdwr_ioctl_data {
  struct i2c_msg *msgs;
  uint32_t nmsgs;
};

union i2c_smbus_data {
  uint8_t byte;
  uint16_t word;
  uint8_t block[I2C_SMBUS_BLOCK_MAX + 2];
};

struct i2c_smbus_ioctl_data {
  uint8_t read_write;
  uint8_t command;
  uint32_t size;
  union i2c_smbus_data *data;
};

#define OP_HELLO 1
#define OP_XFER 2

/* ------------------------------------------------------------------------------------------------ */
/* libc entry points */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*read_chk_fn)(int, void *, size_t, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pread64_fn)(int, void *, size_t, off64_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef int (*close_fn)(int);
typedef long (*syscall_fn)(long, ...);

static struct {
  open_fn open, open64;
  openat_fn openat, openat64;
  open2_fn open_2, open64_2;
  openat2_fn openat_2, openat64_2;
  ioctl_fn ioctl;
  read_fn read;
  read_chk_fn read_chk;
  pread_fn pread;
  pread64_fn pread64;
  write_fn write;
  pwrite_fn pwrite;
  pwrite64_fn pwrite64;
  close_fn close;
  syscall_fn syscall;
} real;

static void *next_symbol(const char *name) {
  return dlsym(RTLD_NEXT, name);
}

#define RESOLVE(field, name)                                                                   \
  do {                                                                                         \
    if (!__atomic_load_n(&real.field, __ATOMIC_ACQUIRE)) {                                     \
      void *p = next_symbol(name);                                                             \
      __atomic_store_n((void **)&real.field, p, __ATOMIC_RELEASE);                             \
    }                                                                                          \
  } while (0)

static void resolve_all(void) {
  RESOLVE(open, "open");
  RESOLVE(open64, "open64");
  RESOLVE(openat, "openat");
  RESOLVE(openat64, "openat64");
  RESOLVE(open_2, "__open_2");
  RESOLVE(open64_2, "__open64_2");
  RESOLVE(openat_2, "__openat_2");
  RESOLVE(openat64_2, "__openat64_2");
  RESOLVE(ioctl, "ioctl");
  RESOLVE(read, "read");
  RESOLVE(read_chk, "__read_chk");
  RESOLVE(pread, "pread");
  RESOLVE(pread64, "pread64");
  RESOLVE(write, "write");
  RESOLVE(pwrite, "pwrite");
  RESOLVE(pwrite64, "pwrite64");
  RESOLVE(close, "close");
  RESOLVE(syscall, "syscall");
}

__attribute__((constructor)) static void shim_init(void) {
  /* libuv with io_uring opens and reads files without going through libc. */
  setenv("UV_USE_IO_URING", "0", 1);
  resolve_all();
}

/* ------------------------------------------------------------------------------------------------ */
/* The fd table */

#define MAX_FDS 4096

struct shim_fd {
  int active; /* published atomically */
  dev_t dev;
  ino_t ino;
  unsigned bus;
  int addr; /* 0 until I2C_SLAVE, as in i2c-dev (nothing answers the general call address) */
  int tenbit;
  int pec;
  int broken; /* the stream lost sync (timeout): every call fails with EIO */
};

static struct shim_fd table[MAX_FDS];
static pthread_mutex_t bus_lock = PTHREAD_MUTEX_INITIALIZER;

/* The entry of fd if it is one of ours and still the same socket, else NULL. */
static struct shim_fd *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FDS) return NULL;
  struct shim_fd *e = &table[fd];
  if (!__atomic_load_n(&e->active, __ATOMIC_ACQUIRE)) return NULL;
  struct stat st;
  int saved = errno;
  if (fstat(fd, &st) != 0 || st.st_ino != e->ino || st.st_dev != e->dev || !S_ISSOCK(st.st_mode)) {
    /* closed or replaced behind our back */
    __atomic_store_n(&e->active, 0, __ATOMIC_RELEASE);
    errno = saved;
    return NULL;
  }
  errno = saved;
  return e;
}

static void forget(int fd) {
  if (fd >= 0 && fd < MAX_FDS) __atomic_store_n(&table[fd].active, 0, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------------------------------ */
/* Talking to the simulator */

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -EIO;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = recv(fd, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return -ETIMEDOUT;
      return -EIO;
    }
    if (r == 0) return -EIO; /* simulator gone */
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void put16(uint8_t *p, unsigned v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* One request/reply round trip; the reply payload is malloc'ed into *reply. Caller holds bus_lock. */
static int round_trip(int fd, const uint8_t *req, size_t req_len, uint8_t **reply, size_t *reply_len) {
  uint8_t head[4];
  put32(head, (uint32_t)req_len);
  int r = send_all(fd, head, 4);
  if (!r) r = send_all(fd, req, req_len);
  if (r) return r;
  r = recv_all(fd, head, 4);
  if (r) return r;
  uint32_t n = get32(head);
  if (n < 4 || n > 1u << 24) return -EIO;
  uint8_t *buf = malloc(n);
  if (!buf) return -ENOMEM;
  r = recv_all(fd, buf, n);
  if (r) {
    free(buf);
    return r;
  }
  *reply = buf;
  *reply_len = n;
  return 0;
}

static long timeout_ms(void) {
  const char *t = getenv("IOPI_SIM_TIMEOUT_MS");
  long v = t ? strtol(t, NULL, 10) : 0;
  return v > 0 ? v : 10000;
}

/*
 * Runs one combined transfer of `n` messages (i2c_transfer). For read messages the data is stored into
 * msgs[i].buf and msgs[i].len is set to what was read (I2C_M_RECV_LEN adds the count). Returns n or
 * -errno.
 */
static int transfer(int fd, struct shim_fd *e, struct i2c_msg *msgs, int n) {
  size_t size = 3;
  for (int i = 0; i < n; i++) size += 6 + ((msgs[i].flags & I2C_M_RD) ? 0 : msgs[i].len);
  uint8_t *req = malloc(size);
  if (!req) return -ENOMEM;
  uint8_t *p = req;
  *p++ = OP_XFER;
  put16(p, (unsigned)n);
  p += 2;
  for (int i = 0; i < n; i++) {
    put16(p, msgs[i].addr);
    put16(p + 2, msgs[i].flags);
    put16(p + 4, msgs[i].len);
    p += 6;
    if (!(msgs[i].flags & I2C_M_RD) && msgs[i].len) {
      memcpy(p, msgs[i].buf, msgs[i].len);
      p += msgs[i].len;
    }
  }

  uint8_t *reply = NULL;
  size_t reply_len = 0;
  pthread_mutex_lock(&bus_lock);
  int r = e->broken ? -EIO : round_trip(fd, req, size, &reply, &reply_len);
  if (r == -ETIMEDOUT || r == -EIO) e->broken = 1;
  pthread_mutex_unlock(&bus_lock);
  free(req);
  if (r) return r;

  int32_t status = (int32_t)get32(reply);
  if (status < 0) {
    free(reply);
    return status;
  }
  const uint8_t *q = reply + 4;
  const uint8_t *end = reply + reply_len;
  for (int i = 0; i < n; i++) {
    if (!(msgs[i].flags & I2C_M_RD)) continue;
    if (end - q < 2) break;
    unsigned len = q[0] | (q[1] << 8);
    q += 2;
    unsigned room = msgs[i].len + ((msgs[i].flags & I2C_M_RECV_LEN) ? I2C_SMBUS_BLOCK_MAX : 0);
    if (len > room || (size_t)(end - q) < len) {
      free(reply);
      return -EIO;
    }
    memcpy(msgs[i].buf, q, len);
    msgs[i].len = (uint16_t)len;
    q += len;
  }
  free(reply);
  return n;
}

/* ------------------------------------------------------------------------------------------------ */
/* open */

/* The bus number if path is "/dev/i2c-N", else -1. */
static long i2c_bus_of(const char *path) {
  static const char prefix[] = "/dev/i2c-";
  if (!path || strncmp(path, prefix, sizeof prefix - 1) != 0) return -1;
  const char *s = path + sizeof prefix - 1;
  if (!*s || (s[0] == '0' && s[1])) return -1;
  long v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (*s - '0');
    if (v > 0xfffff) return -1;
  }
  return v;
}

static int fail(int err) {
  errno = err;
  return -1;
}

static int shim_open(const char *path, int flags, int *handled) {
  *handled = 0;
  long bus = i2c_bus_of(path);
  const char *sock_path = getenv("IOPI_SIM_SOCKET");
  if (bus < 0 || !sock_path || !*sock_path) return -1;
  *handled = 1;
  resolve_all();

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(sock_path) >= sizeof sa.sun_path) return fail(ENOENT);
  strcpy(sa.sun_path, sock_path);

  int fd = socket(AF_UNIX, SOCK_STREAM | ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0), 0);
  if (fd < 0) return -1;
  if (fd >= MAX_FDS) {
    real.close(fd);
    return fail(EMFILE);
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    real.close(fd);
    return fail(ENOENT); /* no simulator: no such device, never real hardware */
  }
  long ms = timeout_ms();
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  uint8_t req[5];
  req[0] = OP_HELLO;
  put32(req + 1, (uint32_t)bus);
  uint8_t *reply = NULL;
  size_t reply_len = 0;
  int r = round_trip(fd, req, sizeof req, &reply, &reply_len); /* a fresh socket: no lock needed */
  int32_t status = r ? -ENOENT : (int32_t)get32(reply);
  free(reply);
  if (status < 0) {
    real.close(fd);
    return fail(-status);
  }

  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    real.close(fd);
    return fail(err);
  }
  struct shim_fd *e = &table[fd];
  __atomic_store_n(&e->active, 0, __ATOMIC_RELEASE); /* a stale entry of a number closed behind our back */
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->bus = (unsigned)bus;
  e->addr = 0;
  e->tenbit = 0;
  e->pec = 0;
  e->broken = 0;
  __atomic_store_n(&e->active, 1, __ATOMIC_RELEASE);
  return fd;
}

static int needs_mode(int flags) {
  return (flags & O_CREAT) || ((flags & O_TMPFILE) == O_TMPFILE);
}

int open(const char *path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(open, "open");
  return real.open(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(open64, "open64");
  return real.open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(openat, "openat");
  return real.openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(openat64, "openat64");
  return real.openat64(dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags) {
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(open_2, "__open_2");
  return real.open_2(path, flags);
}

int __open64_2(const char *path, int flags) {
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(open64_2, "__open64_2");
  return real.open64_2(path, flags);
}

int __openat_2(int dirfd, const char *path, int flags) {
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(openat_2, "__openat_2");
  return real.openat_2(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags) {
  int handled;
  int fd = shim_open(path, flags, &handled);
  if (handled) return fd;
  RESOLVE(openat64_2, "__openat64_2");
  return real.openat64_2(dirfd, path, flags);
}

/* ------------------------------------------------------------------------------------------------ */
/* SMBus emulation (i2c_smbus_xfer_emulated) */

static uint8_t crc8(uint16_t data) {
  for (int i = 0; i < 8; i++) {
    if (data & 0x8000) data ^= (0x1070U << 3);
    data <<= 1;
  }
  return (uint8_t)(data >> 8);
}

static uint8_t smbus_pec(uint8_t crc, const uint8_t *p, size_t count) {
  for (size_t i = 0; i < count; i++) crc = crc8((uint16_t)((crc ^ p[i]) << 8));
  return crc;
}

static uint8_t msg_pec(uint8_t pec, const struct i2c_msg *m) {
  uint8_t addr = (uint8_t)((m->addr << 1) | ((m->flags & I2C_M_RD) ? 1 : 0));
  pec = smbus_pec(pec, &addr, 1);
  return smbus_pec(pec, m->buf, m->len);
}

static int smbus_xfer(int fd, struct shim_fd *e, uint8_t read_write, uint8_t command, uint32_t size,
                      union i2c_smbus_data *data) {
  uint8_t buf0[I2C_SMBUS_BLOCK_MAX + 3];
  uint8_t buf1[I2C_SMBUS_BLOCK_MAX + 2 + I2C_SMBUS_BLOCK_MAX];
  uint16_t flags = (uint16_t)(e->tenbit ? I2C_M_TEN : 0);
  uint16_t addr = (uint16_t)e->addr;
  int nmsgs = read_write == I2C_SMBUS_READ ? 2 : 1;
  uint8_t partial_pec = 0;
  struct i2c_msg msg[2] = {
      {.addr = addr, .flags = flags, .len = 1, .buf = buf0},
      {.addr = addr, .flags = (uint16_t)(flags | I2C_M_RD), .len = 0, .buf = buf1},
  };
  int wants_pec = e->pec && size != I2C_SMBUS_QUICK && size != I2C_SMBUS_I2C_BLOCK_DATA;
  int i;

  buf0[0] = command;
  switch (size) {
    case I2C_SMBUS_QUICK:
      msg[0].len = 0;
      msg[0].flags = (uint16_t)(flags | (read_write == I2C_SMBUS_READ ? I2C_M_RD : 0));
      nmsgs = 1;
      break;
    case I2C_SMBUS_BYTE:
      if (read_write == I2C_SMBUS_READ) {
        msg[0].flags = (uint16_t)(I2C_M_RD | flags);
        nmsgs = 1;
      }
      break;
    case I2C_SMBUS_BYTE_DATA:
      if (read_write == I2C_SMBUS_READ) {
        msg[1].len = 1;
      } else {
        msg[0].len = 2;
        buf0[1] = data->byte;
      }
      break;
    case I2C_SMBUS_WORD_DATA:
      if (read_write == I2C_SMBUS_READ) {
        msg[1].len = 2;
      } else {
        msg[0].len = 3;
        buf0[1] = data->word & 0xff;
        buf0[2] = data->word >> 8;
      }
      break;
    case I2C_SMBUS_PROC_CALL:
      nmsgs = 2;
      read_write = I2C_SMBUS_READ;
      msg[0].len = 3;
      msg[1].len = 2;
      buf0[1] = data->word & 0xff;
      buf0[2] = data->word >> 8;
      break;
    case I2C_SMBUS_BLOCK_DATA:
      if (read_write == I2C_SMBUS_READ) {
        msg[1].flags |= I2C_M_RECV_LEN;
        msg[1].len = 1;
      } else {
        msg[0].len = (uint16_t)(data->block[0] + 2);
        if (msg[0].len > I2C_SMBUS_BLOCK_MAX + 2) return -EINVAL;
        for (i = 1; i < msg[0].len; i++) buf0[i] = data->block[i - 1];
      }
      break;
    case I2C_SMBUS_BLOCK_PROC_CALL:
      nmsgs = 2;
      read_write = I2C_SMBUS_READ;
      if (data->block[0] > I2C_SMBUS_BLOCK_MAX) return -EINVAL;
      msg[0].len = (uint16_t)(data->block[0] + 2);
      for (i = 1; i < msg[0].len; i++) buf0[i] = data->block[i - 1];
      msg[1].flags |= I2C_M_RECV_LEN;
      msg[1].len = 1;
      break;
    case I2C_SMBUS_I2C_BLOCK_DATA:
      if (data->block[0] > I2C_SMBUS_BLOCK_MAX) return -EINVAL;
      if (read_write == I2C_SMBUS_READ) {
        msg[1].len = data->block[0];
      } else {
        msg[0].len = (uint16_t)(data->block[0] + 1);
        for (i = 1; i <= data->block[0]; i++) buf0[i] = data->block[i];
      }
      break;
    default:
      return -EOPNOTSUPP;
  }

  if (wants_pec) {
    if (!(msg[0].flags & I2C_M_RD)) {
      if (nmsgs == 1) {
        msg[0].buf[msg[0].len] = msg_pec(0, &msg[0]);
        msg[0].len++;
      } else {
        partial_pec = msg_pec(0, &msg[0]);
      }
    }
    if (msg[nmsgs - 1].flags & I2C_M_RD) msg[nmsgs - 1].len++;
  }

  int status = transfer(fd, e, msg, nmsgs);
  if (status < 0) return status;
  if (status != nmsgs) return -EIO;

  if (wants_pec && (msg[nmsgs - 1].flags & I2C_M_RD)) {
    struct i2c_msg *m = &msg[nmsgs - 1];
    uint8_t rpec = m->buf[--m->len];
    uint8_t cpec = msg_pec(partial_pec, m);
    if (rpec != cpec) return -EBADMSG;
  }

  if (read_write == I2C_SMBUS_READ) {
    switch (size) {
      case I2C_SMBUS_BYTE:
        data->byte = buf0[0];
        break;
      case I2C_SMBUS_BYTE_DATA:
        data->byte = buf1[0];
        break;
      case I2C_SMBUS_WORD_DATA:
      case I2C_SMBUS_PROC_CALL:
        data->word = (uint16_t)(buf1[0] | (buf1[1] << 8));
        break;
      case I2C_SMBUS_I2C_BLOCK_DATA:
        for (i = 0; i < data->block[0]; i++) data->block[i + 1] = buf1[i];
        break;
      case I2C_SMBUS_BLOCK_DATA:
      case I2C_SMBUS_BLOCK_PROC_CALL:
        if (buf1[0] > I2C_SMBUS_BLOCK_MAX) return -EPROTO;
        for (i = 0; i < buf1[0] + 1; i++) data->block[i] = buf1[i];
        break;
    }
  }
  return 0;
}

/* i2cdev_ioctl_smbus */
static int ioctl_smbus(int fd, struct shim_fd *e, struct i2c_smbus_ioctl_data *arg) {
  if (!arg) return -EFAULT;
  uint8_t read_write = arg->read_write;
  uint8_t command = arg->command;
  uint32_t size = arg->size;
  union i2c_smbus_data *data = arg->data;
  union i2c_smbus_data temp;
  size_t datasize;
  int res;

  if (size > I2C_SMBUS_I2C_BLOCK_DATA) return -EINVAL;
  if (read_write != I2C_SMBUS_READ && read_write != I2C_SMBUS_WRITE) return -EINVAL;

  if (size == I2C_SMBUS_QUICK || (size == I2C_SMBUS_BYTE && read_write == I2C_SMBUS_WRITE)) {
    memset(&temp, 0, sizeof temp);
    return smbus_xfer(fd, e, read_write, command, size, &temp);
  }
  if (!data) return -EINVAL;

  if (size == I2C_SMBUS_BYTE_DATA || size == I2C_SMBUS_BYTE)
    datasize = sizeof data->byte;
  else if (size == I2C_SMBUS_WORD_DATA || size == I2C_SMBUS_PROC_CALL)
    datasize = sizeof data->word;
  else
    datasize = sizeof data->block;

  memset(&temp, 0, sizeof temp);
  if (size == I2C_SMBUS_PROC_CALL || size == I2C_SMBUS_BLOCK_PROC_CALL || size == I2C_SMBUS_I2C_BLOCK_DATA ||
      read_write == I2C_SMBUS_WRITE)
    memcpy(&temp, data, datasize);
  if (size == I2C_SMBUS_I2C_BLOCK_BROKEN) {
    size = I2C_SMBUS_I2C_BLOCK_DATA;
    if (read_write == I2C_SMBUS_READ) temp.block[0] = I2C_SMBUS_BLOCK_MAX;
  }
  res = smbus_xfer(fd, e, read_write, command, size, &temp);
  if (!res && (size == I2C_SMBUS_PROC_CALL || size == I2C_SMBUS_BLOCK_PROC_CALL || read_write == I2C_SMBUS_READ))
    memcpy(data, &temp, datasize);
  return res;
}

/* i2cdev_ioctl_rdwr */
static int ioctl_rdwr(int fd, struct shim_fd *e, struct i2c_rdwr_ioctl_data *arg) {
  if (!arg) return -EFAULT;
  if (!arg->msgs || arg->nmsgs == 0) return -EINVAL;
  if (arg->nmsgs > I2C_RDWR_IOCTL_MAX_MSGS) return -EINVAL;
  int n = (int)arg->nmsgs;
  struct i2c_msg msgs[I2C_RDWR_IOCTL_MAX_MSGS];
  uint8_t *bufs[I2C_RDWR_IOCTL_MAX_MSGS];
  int res = 0, i;
  memcpy(msgs, arg->msgs, sizeof(struct i2c_msg) * (size_t)n);
  for (i = 0; i < n; i++) bufs[i] = NULL;
  for (i = 0; i < n; i++) {
    if (msgs[i].len > I2C_MAX_MESSAGE) {
      res = -EINVAL;
      break;
    }
    if (msgs[i].len && !msgs[i].buf) {
      res = -EFAULT;
      break;
    }
    bufs[i] = malloc((size_t)msgs[i].len + I2C_SMBUS_BLOCK_MAX + 1);
    if (!bufs[i]) {
      res = -ENOMEM;
      break;
    }
    if (msgs[i].len) memcpy(bufs[i], msgs[i].buf, msgs[i].len);
    if (msgs[i].flags & I2C_M_RECV_LEN) {
      if (!(msgs[i].flags & I2C_M_RD) || !msgs[i].len || bufs[i][0] < 1 ||
          msgs[i].len < bufs[i][0] + I2C_SMBUS_BLOCK_MAX) {
        res = -EINVAL;
        break;
      }
      msgs[i].len = bufs[i][0];
    }
  }
  if (!res) {
    uint8_t *user[I2C_RDWR_IOCTL_MAX_MSGS];
    for (i = 0; i < n; i++) {
      user[i] = msgs[i].buf;
      msgs[i].buf = bufs[i];
    }
    res = transfer(fd, e, msgs, n);
    if (res >= 0) {
      for (i = 0; i < n; i++) {
        if (msgs[i].flags & I2C_M_RD) {
          if (msgs[i].len && user[i]) memcpy(user[i], bufs[i], msgs[i].len);
        }
      }
    }
  }
  for (i = 0; i < n; i++) free(bufs[i]);
  return res;
}

static int shim_ioctl(int fd, struct shim_fd *e, unsigned long request, unsigned long arg) {
  switch (request) {
    case I2C_SLAVE:
    case I2C_SLAVE_FORCE:
      if (arg > 0x3ff || (arg > 0x7f && !e->tenbit)) return -EINVAL;
      e->addr = (int)arg;
      return 0;
    case I2C_TENBIT:
      e->tenbit = arg != 0;
      return 0;
    case I2C_PEC:
      e->pec = arg != 0;
      return 0;
    case I2C_RETRIES:
    case I2C_TIMEOUT: /* accepted and ignored: the simulator answers at once */
      return arg > 0x7fffffff ? -EINVAL : 0;
    case I2C_FUNCS:
      if (!arg) return -EFAULT;
      *(unsigned long *)arg = SHIM_FUNCS;
      return 0;
    case I2C_RDWR:
      return ioctl_rdwr(fd, e, (struct i2c_rdwr_ioctl_data *)arg);
    case I2C_SMBUS:
      return ioctl_smbus(fd, e, (struct i2c_smbus_ioctl_data *)arg);
    default:
      return -ENOTTY;
  }
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  struct shim_fd *e = lookup(fd);
  if (!e) {
    RESOLVE(ioctl, "ioctl");
    return real.ioctl(fd, request, arg);
  }
  int r = shim_ioctl(fd, e, request, arg);
  if (r < 0) return fail(-r);
  return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* read / write: one plain I2C message (i2cdev_read / i2cdev_write) */

static ssize_t shim_read(int fd, struct shim_fd *e, void *buf, size_t count) {
  if (count > I2C_MAX_MESSAGE) count = I2C_MAX_MESSAGE;
  /* transfer() stores the data only once the whole message has succeeded, as i2cdev_read copies it */
  struct i2c_msg m = {.addr = (uint16_t)e->addr, .flags = (uint16_t)(I2C_M_RD | (e->tenbit ? I2C_M_TEN : 0)), .len = (uint16_t)count, .buf = buf};
  int r = transfer(fd, e, &m, 1);
  if (r < 0) return fail(-r);
  return (ssize_t)count;
}

static ssize_t shim_write(int fd, struct shim_fd *e, const void *buf, size_t count) {
  if (count > I2C_MAX_MESSAGE) count = I2C_MAX_MESSAGE;
  struct i2c_msg m = {.addr = (uint16_t)e->addr, .flags = (uint16_t)(e->tenbit ? I2C_M_TEN : 0), .len = (uint16_t)count, .buf = (uint8_t *)buf};
  int r = transfer(fd, e, &m, 1);
  if (r < 0) return fail(-r);
  return (ssize_t)count;
}

ssize_t read(int fd, void *buf, size_t count) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_read(fd, e, buf, count);
  RESOLVE(read, "read");
  return real.read(fd, buf, count);
}

extern void __chk_fail(void) __attribute__((noreturn));

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen) {
  struct shim_fd *e = lookup(fd);
  if (e) {
    if (count > buflen) __chk_fail();
    return shim_read(fd, e, buf, count);
  }
  RESOLVE(read_chk, "__read_chk");
  return real.read_chk(fd, buf, count, buflen);
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_read(fd, e, buf, count);
  RESOLVE(pread, "pread");
  return real.pread(fd, buf, count, offset);
}

ssize_t pread64(int fd, void *buf, size_t count, off64_t offset) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_read(fd, e, buf, count);
  RESOLVE(pread64, "pread64");
  return real.pread64(fd, buf, count, offset);
}

ssize_t write(int fd, const void *buf, size_t count) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_write(fd, e, buf, count);
  RESOLVE(write, "write");
  return real.write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_write(fd, e, buf, count);
  RESOLVE(pwrite, "pwrite");
  return real.pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset) {
  struct shim_fd *e = lookup(fd);
  if (e) return shim_write(fd, e, buf, count);
  RESOLVE(pwrite64, "pwrite64");
  return real.pwrite64(fd, buf, count, offset);
}

/* ------------------------------------------------------------------------------------------------ */
/* close */

int close(int fd) {
  forget(fd);
  RESOLVE(close, "close");
  return real.close(fd);
}

long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a1 = va_arg(ap, long);
  long a2 = va_arg(ap, long);
  long a3 = va_arg(ap, long);
  long a4 = va_arg(ap, long);
  long a5 = va_arg(ap, long);
  long a6 = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_close) forget((int)a1);
  RESOLVE(syscall, "syscall");
  return real.syscall(number, a1, a2, a3, a4, a5, a6);
}
