// kyoto::select (being written).
#pragma once
