// kyoto::abort_handle (being written).
#pragma once
