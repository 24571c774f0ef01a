// SPDX-License-Identifier: GPL-2.0
/*
 * unit_oracle: stamps, the quiesced check and its five damage classes, and the racing
 * tolerance (bytes from any version between "done at read start" and "in flight").
 * The shared memory is a calloc'd area: one process plays writer and reader.
 */
#include "oracle.h"
#include "unit.h"

#define NBLOCKS	8
#define SEED	0x5eed0123456789abULL
#define FILE_ID	3

static struct ftr_oracle o;
static uint8_t file[NBLOCKS][FTR_BLOCK];	/* the "file" as the oracle expects it */

/* One completed write of block b by path: the file holds it, the oracle says done. */
static uint32_t write_block(uint32_t b, unsigned path)
{
	ftr_oracle_begin_stamp(&o, file[b], b, 1, path);
	ftr_oracle_commit(&o, b, 1);
	return ftr_ver_gen(o.done[b]);
}

/* Checks one block's data quiesced; bad describes it when it fails. */
static uint32_t check1(const void *data, uint32_t b, struct ftr_bad *bad)
{
	memset(bad, 0, sizeof(*bad));
	return ftr_oracle_check(&o, data, b, 1, NULL, bad, 1, NULL);
}

static void test_stamp(void)
{
	struct ftr_found f;
	uint8_t a[FTR_BLOCK], b[FTR_BLOCK];

	ftr_stamp(&o, a, 5, 7, FTR_P_MMAP);
	ftr_decode(a, &f);
	CHECK(f.stamp_valid && f.block == 5 && f.gen == 7 && f.path == FTR_P_MMAP);
	CHECK(f.file_id == FILE_ID && f.seed == SEED);
	/* A pure function of its inputs; any input changes the content. */
	ftr_stamp(&o, b, 5, 7, FTR_P_MMAP);
	CHECK(!memcmp(a, b, FTR_BLOCK));
	ftr_stamp(&o, b, 5, 8, FTR_P_MMAP);
	CHECK(memcmp(a + 32, b + 32, FTR_BLOCK - 32) != 0);
	ftr_stamp(&o, b, 6, 7, FTR_P_MMAP);
	CHECK(memcmp(a + 32, b + 32, FTR_BLOCK - 32) != 0);
	/* A damaged header no longer decodes as a stamp. */
	a[20] ^= 1;
	ftr_decode(a, &f);
	CHECK(!f.stamp_valid);
	memset(a, 0, sizeof(a));
	ftr_decode(a, &f);
	CHECK(!f.stamp_valid);

	CHECK_STR(ftr_class_name(FTR_OK), "OK");
	CHECK_STR(ftr_class_name(FTR_LOST), "LOST");
	CHECK_STR(ftr_class_name(FTR_TORN), "TORN");
	CHECK_STR(ftr_class_name(FTR_MISPLACED), "MISPLACED");
	CHECK_STR(ftr_class_name(FTR_ZERO), "ZERO");
	CHECK_STR(ftr_class_name(FTR_GARBAGE), "GARBAGE");
	CHECK_STR(ftr_path_names[FTR_P_PUNCH], "punch");
}

static void test_quiesced(void)
{
	uint8_t old[NBLOCKS][FTR_BLOCK], d[FTR_BLOCK];
	struct ftr_bad bad[NBLOCKS];

	/* The initial fill, then every block passes exactly. */
	ftr_oracle_begin_stamp(&o, file, 0, NBLOCKS, FTR_P_INIT);
	ftr_oracle_commit(&o, 0, NBLOCKS);
	CHECK_INT(ftr_ver_gen(o.done[0]), ==, 1);
	CHECK(o.done[NBLOCKS - 1] == o.inflight[NBLOCKS - 1]);
	CHECK_INT(ftr_oracle_check(&o, file, 0, NBLOCKS, NULL, bad, NBLOCKS, NULL), ==, 0);
	/* A sub-range is checked against its own blocks. */
	CHECK_INT(ftr_oracle_check(&o, file[2], 2, 3, NULL, bad, NBLOCKS, NULL), ==, 0);
	CHECK_INT(ftr_oracle_check(&o, file[2], 3, 1, NULL, bad, NBLOCKS, NULL), ==, 1);

	/* Second generation of every block, by pwrite; keep the first to damage with. */
	memcpy(old, file, sizeof(file));
	for (uint32_t b = 0; b < NBLOCKS; b++)
		CHECK_INT(write_block(b, FTR_P_PWRITE), ==, 2);
	CHECK_INT(ftr_oracle_check(&o, file, 0, NBLOCKS, NULL, bad, NBLOCKS, NULL), ==, 0);

	/* LOST: the block still holds the generation before the completed write. */
	CHECK_INT(check1(old[1], 1, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_LOST);
	CHECK(bad[0].block == 1 && ftr_ver_gen(bad[0].want) == 2 && bad[0].found.gen == 1);

	/* TORN: half new, half old, either way round. */
	memcpy(d, file[2], FTR_BLOCK / 2);
	memcpy(d + FTR_BLOCK / 2, old[2] + FTR_BLOCK / 2, FTR_BLOCK / 2);
	CHECK_INT(check1(d, 2, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_TORN);
	CHECK_INT(bad[0].first_byte, ==, FTR_BLOCK / 2);
	memcpy(d, old[2], FTR_BLOCK / 2);
	memcpy(d + FTR_BLOCK / 2, file[2] + FTR_BLOCK / 2, FTR_BLOCK / 2);
	CHECK_INT(check1(d, 2, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_TORN);

	/* MISPLACED: the neighbour's current data, or this block's data of another file
	 * or another run (seed). */
	CHECK_INT(check1(file[4], 3, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_MISPLACED);
	CHECK(bad[0].found.block == 4 && bad[0].block == 3);
	{
		struct ftr_oracle other = o;

		other.file_id = FILE_ID + 1;
		ftr_stamp(&other, d, 3, 2, FTR_P_PWRITE);
		CHECK_INT(check1(d, 3, bad), ==, 1);
		CHECK_INT(bad[0].cls, ==, FTR_MISPLACED);
		other.file_id = FILE_ID;
		other.seed = SEED + 1;
		ftr_stamp(&other, d, 3, 2, FTR_P_PWRITE);
		CHECK_INT(check1(d, 3, bad), ==, 1);
		CHECK_INT(bad[0].cls, ==, FTR_MISPLACED);
	}

	/* ZERO: a block of zeros. */
	memset(d, 0, sizeof(d));
	CHECK_INT(check1(d, 4, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_ZERO);
	CHECK_INT(bad[0].first_byte, ==, 0);

	/* GARBAGE: one flipped bit in the payload (what --inject flip does)... */
	memcpy(d, file[5], FTR_BLOCK);
	d[100] ^= 0x10;
	CHECK_INT(check1(d, 5, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_GARBAGE);
	CHECK(bad[0].first_byte == 100 && bad[0].nr_bytes == 1);
	/* ...one flipped bit in the stamp header, wherever it is... */
	for (int byte = 0; byte < 32; byte += 4) {
		memcpy(d, file[5], FTR_BLOCK);
		d[byte] ^= 0x01;
		CHECK_INT(check1(d, 5, bad), ==, 1);
		CHECK_INT(bad[0].cls, ==, FTR_GARBAGE);
	}
	/* ...bytes that are no stamp at all... */
	memset(d, 0xa5, sizeof(d));
	CHECK_INT(check1(d, 5, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_GARBAGE);
	/* ...and a valid stamp of a generation nobody completed. */
	ftr_stamp(&o, d, 5, 3, FTR_P_PWRITE);
	CHECK_INT(check1(d, 5, bad), ==, 1);
	CHECK_INT(bad[0].cls, ==, FTR_GARBAGE);
	/* The same generation by another path is not the write that completed. */
	ftr_stamp(&o, d, 5, 2, FTR_P_MMAP);
	CHECK_INT(check1(d, 5, bad), ==, 1);

	/* Several bad blocks: all counted, only max_bad described, in block order. */
	memcpy(d, file[6], FTR_BLOCK);
	memcpy(file[6], old[6], FTR_BLOCK);
	memset(file[7], 0, FTR_BLOCK);
	file[0][300] ^= 1;
	memset(bad, 0, sizeof(bad));
	CHECK_INT(ftr_oracle_check(&o, file, 0, NBLOCKS, NULL, bad, 2, NULL), ==, 3);
	CHECK(bad[0].block == 0 && bad[0].cls == FTR_GARBAGE);
	CHECK(bad[1].block == 6 && bad[1].cls == FTR_LOST);
	CHECK(bad[2].block == 0 && bad[2].cls == FTR_OK);	/* not written past max_bad */
	/* Repair for the next test. */
	memcpy(file[6], d, FTR_BLOCK);
	ftr_stamp(&o, file[7], 7, 2, FTR_P_PWRITE);
	file[0][300] ^= 1;
	CHECK_INT(ftr_oracle_check(&o, file, 0, NBLOCKS, NULL, bad, NBLOCKS, NULL), ==, 0);
}

/* Racing reads: the reader took pre (done versions) before reading the data. */
static void test_racing(void)
{
	uint8_t v[5][FTR_BLOCK], d[FTR_BLOCK];
	struct ftr_bad bad;
	uint32_t unchecked = 0, g;
	uint64_t pre;

	/* Block 0 at generation g (path X = pwritev2); g-1 is kept to test with. */
	write_block(0, FTR_P_PWRITEV);
	memcpy(v[0], file[0], FTR_BLOCK);
	g = write_block(0, FTR_P_PWRITEV);
	memcpy(v[1], file[0], FTR_BLOCK);
	ftr_oracle_snapshot(&o, 0, 1, &pre);
	CHECK(ftr_ver_gen(pre) == g && ftr_ver_path(pre) == FTR_P_PWRITEV);
	/* While the read runs, g+1 completes and g+2 starts. */
	CHECK_INT(write_block(0, FTR_P_PWRITEV), ==, g + 1);
	memcpy(v[2], file[0], FTR_BLOCK);
	ftr_oracle_begin_stamp(&o, v[3], 0, 1, FTR_P_PWRITEV);
	CHECK_INT(ftr_ver_gen(o.inflight[0]), ==, g + 2);
	CHECK_INT(ftr_ver_gen(o.done[0]), ==, g + 1);

	/* Bytes of g and g+1 mixed at an odd offset (inside a word) are plausible. */
	memcpy(d, v[2], 101);
	memcpy(d + 101, v[1] + 101, FTR_BLOCK - 101);
	CHECK_INT(ftr_oracle_check(&o, d, 0, 1, &pre, &bad, 1, &unchecked), ==, 0);
	/* So are g, g+1, the in-flight g+2, and g+2 over g. */
	CHECK_INT(ftr_oracle_check(&o, v[1], 0, 1, &pre, &bad, 1, &unchecked), ==, 0);
	CHECK_INT(ftr_oracle_check(&o, v[2], 0, 1, &pre, &bad, 1, &unchecked), ==, 0);
	CHECK_INT(ftr_oracle_check(&o, v[3], 0, 1, &pre, &bad, 1, &unchecked), ==, 0);
	memcpy(d, v[1], 200);
	memcpy(d + 200, v[3] + 200, FTR_BLOCK - 200);
	CHECK_INT(ftr_oracle_check(&o, d, 0, 1, &pre, &bad, 1, &unchecked), ==, 0);
	CHECK_INT(unchecked, ==, 0);

	/* g-1 was overwritten before the read started: LOST, with the allowed window. */
	CHECK_INT(ftr_oracle_check(&o, v[0], 0, 1, &pre, &bad, 1, &unchecked), ==, 1);
	CHECK_INT(bad.cls, ==, FTR_LOST);
	CHECK(bad.oldest == pre && ftr_ver_gen(bad.want) == g + 2);
	/* Even a few bytes of g-1 among good ones. */
	memcpy(d, v[2], FTR_BLOCK);
	memcpy(d + 64, v[0] + 64, 8);
	CHECK_INT(ftr_oracle_check(&o, d, 0, 1, &pre, &bad, 1, &unchecked), ==, 1);
	/* Zeros: no punch in flight here. */
	memset(d, 0, sizeof(d));
	CHECK_INT(ftr_oracle_check(&o, d, 0, 1, &pre, &bad, 1, &unchecked), ==, 1);
	CHECK_INT(bad.cls, ==, FTR_ZERO);
	ftr_oracle_commit(&o, 0, 1);
	memcpy(file[0], v[3], FTR_BLOCK);

	/* Block 1: zeros are fine only while a punch is in flight. */
	write_block(1, FTR_P_WRITE);
	ftr_oracle_snapshot(&o, 1, 1, &pre);
	ftr_oracle_begin_stamp(&o, v[4], 1, 1, FTR_P_PUNCH);
	memset(d, 0, sizeof(d));
	CHECK_INT(ftr_oracle_check(&o, d, 1, 1, &pre, &bad, 1, &unchecked), ==, 0);
	memcpy(d, file[1], 256);	/* half still old, half punched */
	CHECK_INT(ftr_oracle_check(&o, d, 1, 1, &pre, &bad, 1, &unchecked), ==, 0);
	memcpy(d + 256, v[4] + 256, 256);	/* half old, half written back */
	CHECK_INT(ftr_oracle_check(&o, d, 1, 1, &pre, &bad, 1, &unchecked), ==, 0);
	ftr_oracle_commit(&o, 1, 1);
	memcpy(file[1], v[4], FTR_BLOCK);
	/* The punch completed before the read started: zeros are now wrong. */
	ftr_oracle_snapshot(&o, 1, 1, &pre);
	memset(d, 0, sizeof(d));
	CHECK_INT(ftr_oracle_check(&o, d, 1, 1, &pre, &bad, 1, &unchecked), ==, 1);
	CHECK_INT(bad.cls, ==, FTR_ZERO);
	/* A write by another path in flight does not allow zeros either. */
	ftr_oracle_begin_stamp(&o, v[4], 1, 1, FTR_P_MMAP);
	CHECK_INT(ftr_oracle_check(&o, d, 1, 1, &pre, &bad, 1, &unchecked), ==, 1);
	ftr_oracle_commit(&o, 1, 1);
	memcpy(file[1], v[4], FTR_BLOCK);

	/* Block 2: a writer 63 versions ahead is still checked; 64 ahead is not. */
	ftr_oracle_snapshot(&o, 2, 1, &pre);
	memcpy(v[0], file[2], FTR_BLOCK);
	for (int i = 0; i < 63; i++)
		write_block(2, FTR_P_URING);
	CHECK_INT(ftr_oracle_check(&o, file[2], 2, 1, &pre, &bad, 1, &unchecked), ==, 0);
	CHECK_INT(ftr_oracle_check(&o, v[0], 2, 1, &pre, &bad, 1, &unchecked), ==, 0);
	memset(d, 0x5a, sizeof(d));
	CHECK_INT(ftr_oracle_check(&o, d, 2, 1, &pre, &bad, 1, &unchecked), ==, 1);
	CHECK_INT(unchecked, ==, 0);
	write_block(2, FTR_P_URING);
	CHECK_INT(ftr_oracle_check(&o, d, 2, 1, &pre, &bad, 1, &unchecked), ==, 0);
	CHECK_INT(unchecked, ==, 1);
	CHECK_INT(ftr_oracle_check(&o, d, 2, 1, &pre, &bad, 1, NULL), ==, 0);	/* NULL is fine */

	/* Quiesced again, everything matches. */
	CHECK_INT(ftr_oracle_check(&o, file, 0, NBLOCKS, NULL, &bad, 1, NULL), ==, 0);
}

int main(void)
{
	void *shm = calloc(1, ftr_oracle_mem(NBLOCKS));

	if (!CHECK(shm != NULL))
		return unit_done();
	CHECK_INT(ftr_oracle_mem(NBLOCKS), >=, 2 * NBLOCKS * sizeof(uint64_t));
	ftr_oracle_init(&o, shm, NBLOCKS, SEED, FILE_ID);
	CHECK(o.done[0] == 0 && o.inflight[NBLOCKS - 1] == 0);
	test_stamp();
	test_quiesced();
	test_racing();
	free(shm);
	return unit_done();
}
