// Debian's libstb-dev (stb_image: JPEG and PNG decoding, stb_image_resize, stb_image_write: JPEG encoding; built into
// libstb) and libwebp-dev (WebP decoding): what Sources/Photos needs to read a photo's size and make its thumbnail.
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
#include <webp/decode.h>
#include <webp/encode.h>

// Built into libstb but declared only in stb_image_write.h's implementation part: PNG encoding into memory (tests make
// their sample photos with it).
unsigned char *stbi_write_png_to_mem(const unsigned char *pixels, int stride_bytes, int x, int y, int n, int *out_len);

// The photo thread runs at a lower priority than the node's other threads (Linux: a thread's nice value, by its id).
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline int shequ_lower_this_thread_priority(int nice) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
