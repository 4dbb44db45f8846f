// kyoto::sync::rw_lock (being written).
#pragma once
