// Out-of-line parts of kyoto::sync (being written).
#include <kyoto/sync.hpp>
