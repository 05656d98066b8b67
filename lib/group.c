/* group.c - handler groups: which member of N handles an aggregate */
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "util.h"

/* MD5 (RFC 1321), only as far as the group hash needs it. */
static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};

static const unsigned char md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
};

static void md5_block(uint32_t h[4], const unsigned char *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], f, t;
	int i, g;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += f << md5_r[i] | f >> (32 - md5_r[i]);
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

uint32_t evt_group_hash(const void *id, size_t len)
{
	uint32_t h[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };
	const unsigned char *p = id;
	unsigned char tail[128];
	uint64_t bits = (uint64_t)len * 8;
	size_t n = len, k, t;

	for (; n >= 64; p += 64, n -= 64)
		md5_block(h, p);
	memcpy(tail, p, n);
	tail[n] = 0x80;
	t = n + 1 <= 56 ? 64 : 128;
	memset(tail + n + 1, 0, t - n - 1);
	for (k = 0; k < 8; k++)
		tail[t - 8 + k] = (unsigned char)(bits >> (8 * k));
	md5_block(h, tail);
	if (t == 128)
		md5_block(h, tail + 64);
	/* the digest's first four bytes are h[0], little-endian; read them
	 * big-endian */
	return (h[0] & 0xff) << 24 | (h[0] >> 8 & 0xff) << 16 |
	       (h[0] >> 16 & 0xff) << 8 | h[0] >> 24;
}

int evt_group_parse(const char *s, int *i, int *n)
{
	const char *slash = strchr(s, '/');
	char num[16];
	int64_t a, b;

	if (!slash || (size_t)(slash - s) >= sizeof(num))
		return -1;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	if (evt_parse_i64(num, 0, EVT_GROUP_MAX - 1, &a) < 0 ||
	    evt_parse_i64(slash + 1, 1, EVT_GROUP_MAX, &b) < 0 || a >= b)
		return -1;
	/* only the canonical spelling: "01/3" would be another bookmark */
	if ((num[0] == '0' && num[1]) || slash[1] == '0' ||
	    num[0] == '-' || num[0] == '+' || slash[1] == '+')
		return -1;
	*i = (int)a;
	*n = (int)b;
	return 0;
}

int evt_group_member(const char *name, size_t *baselen, int *i, int *n)
{
	size_t len = strlen(name);
	const char *open;
	char in[32];

	if (len < 6 || name[len - 1] != ']')
		return 0;
	open = strrchr(name, '[');
	if (!open || open == name || (size_t)(name + len - open) > sizeof(in))
		return 0;
	memcpy(in, open + 1, (size_t)(name + len - open - 2));
	in[name + len - open - 2] = '\0';
	if (evt_group_parse(in, i, n) < 0)
		return 0;
	*baselen = (size_t)(open - name);
	return 1;
}
