// kyoto::join_set (being written).
#pragma once
