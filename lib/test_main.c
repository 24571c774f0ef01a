// SPDX-License-Identifier: GPL-2.0
/*
 * main() of every selftest binary, apart from the harness so that a tool with its own
 * main() (tools/thp-race) can link the harness without a test declaration.
 */
#include "test.h"

int main(int argc, char **argv)
{
	return ftr_main(&ftr_test, argc, argv);
}
