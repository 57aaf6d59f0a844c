// Included in every C++ standalone code object (burstsim.backends): declares glibc's vector
// variant of exp() (libmvec, linked through libm), so that GCC vectorises loops that call exp --
// the two-compartment neurons' dendritic sigmoid -- under -fno-finite-math-only, which Brian2
// sets and which otherwise hides the declaration. libmvec's exp handles inf and nan like exp and
// differs from it by at most 4 ulp.
#pragma once
#include <cmath>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
extern "C" double exp(double) __attribute__((__simd__("notinbranch")));
#endif
