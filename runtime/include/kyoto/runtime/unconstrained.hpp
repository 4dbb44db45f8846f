// kyoto::unconstrained (being written).
#pragma once
