// kyoto::sync::once_cell (being written).
#pragma once
