/*  fc_test: the few macros our test programs use. A failed check prints where and
    what, and the program exits non-zero at the end (fc_test_done). */
#ifndef FC_TEST_H
#define FC_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fc_test_failures = 0;
static int fc_test_checks = 0;

#define FC_CHECK(cond)                                                                             \
    do {                                                                                           \
        fc_test_checks++;                                                                          \
        if (!(cond)) {                                                                             \
            fc_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define FC_CHECK_INT(a, b)                                                                         \
    do {                                                                                           \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                              \
        fc_test_checks++;                                                                          \
        if (a_ != b_) {                                                                            \
            fc_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == %" PRId64 ", expected %s == %" PRId64 "\n", __FILE__,    \
                    __LINE__, #a, a_, #b, b_);                                                     \
        }                                                                                          \
    } while (0)

#define FC_CHECK_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        fc_test_checks++;                                                                          \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fc_test_failures++;                                                                    \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

//  Print the tally and return the exit status for main.
static inline int fc_test_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, fc_test_checks, fc_test_failures);
    return fc_test_failures ? 1 : 0;
}

#endif
