// raftlite — persister_tests: file_persister and memory_persister.
#define BOOST_TEST_MODULE persister_tests
#include <boost/test/unit_test.hpp>
