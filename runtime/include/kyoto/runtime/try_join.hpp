// kyoto::try_join (being written).
#pragma once
